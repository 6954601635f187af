package io.tallyhouse.stream;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * Running totals of one group as counted by one stream task, i.e. one partition of the events topic. This is the
 * value of the rollup store, read and written for every event, so its form is a fixed binary layout: seven longs,
 * then each amount as its unscaled value (the scale is always 12, Avro decimal(38,12)).
 *
 * <p>{@code version} counts the distinct events folded in. It only grows, so ReplacingMergeTree(version) keeps the
 * latest totals and replaying an old update can never win over a newer one.
 */
record Totals(long requests, long promptTokens, long completionTokens, long reasoningTokens, long cachedTokens,
    BigDecimal usage, BigDecimal byokUsageInference, long byokRequests, long version) {

  static final int SCALE = 12;

  byte[] toBytes() {
    byte[] usageBytes = usage.unscaledValue().toByteArray();
    byte[] byokBytes = byokUsageInference.unscaledValue().toByteArray();
    ByteBuffer out = ByteBuffer.allocate(7 * Long.BYTES + 2 + usageBytes.length + byokBytes.length);
    out.putLong(requests).putLong(promptTokens).putLong(completionTokens).putLong(reasoningTokens)
        .putLong(cachedTokens).putLong(byokRequests).putLong(version);
    out.put((byte) usageBytes.length).put(usageBytes);
    out.put((byte) byokBytes.length).put(byokBytes);
    return out.array();
  }

  static Totals fromBytes(byte[] bytes) {
    try {
      ByteBuffer in = ByteBuffer.wrap(bytes);
      long requests = in.getLong();
      long prompt = in.getLong();
      long completion = in.getLong();
      long reasoning = in.getLong();
      long cached = in.getLong();
      long byokRequests = in.getLong();
      long version = in.getLong();
      BigDecimal usage = readAmount(in);
      BigDecimal byok = readAmount(in);
      if (in.hasRemaining()) {
        throw new IllegalArgumentException("not stored totals: " + in.remaining() + " bytes left over");
      }
      return new Totals(requests, prompt, completion, reasoning, cached, usage, byok, byokRequests, version);
    } catch (BufferUnderflowException | NegativeArraySizeException e) {
      throw new IllegalArgumentException("not stored totals: too short", e);
    }
  }

  private static BigDecimal readAmount(ByteBuffer in) {
    byte[] unscaled = new byte[in.get()];
    in.get(unscaled);
    return new BigDecimal(new BigInteger(unscaled), SCALE);
  }
}
