package io.tallyhouse.stream.rollup;

import io.tallyhouse.common.money.ImpossibleTotalException;
import io.tallyhouse.common.money.MoneyTotals;
import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * Running totals of one group as counted by one stream task, i.e. one partition of the events
 * topic. This is the value of the rollup store, read and written for every event, so its form is a
 * fixed binary layout: seven longs, then each amount as its unscaled value (the scale is always
 * Money.SCALE, Avro decimal(38,12)).
 *
 * <p>{@code version} counts the distinct events folded in. It only grows, so
 * ReplacingMergeTree(version) keeps the latest totals and replaying an old update can never win
 * over a newer one.
 */
public record GroupTotals(
    long requests,
    long promptTokens,
    long completionTokens,
    long reasoningTokens,
    long cachedTokens,
    BigDecimal usage,
    BigDecimal byokUsageInference,
    long byokRequests,
    long version) {

  /**
   * The longest unscaled amount Decimal(38,12) holds (below 10^38 < 2^127) in two's complement: 16
   * bytes.
   */
  static final int MAX_AMOUNT_BYTES = 16;

  /**
   * Refuses amounts ClickHouse's Decimal(38,12) cannot hold or no legal events can sum to
   * (negative): the writer could never insert them, and {@link #toBytes}'s one-byte length could
   * not frame them. The contract's bound on an event keeps every legal total far inside, so this
   * only ever stops a bug, before it reaches the changelog.
   */
  public GroupTotals {
    try {
      usage = MoneyTotals.checkAmount("usage", usage);
      byokUsageInference = MoneyTotals.checkAmount("byok_usage_inference", byokUsageInference);
    } catch (ImpossibleTotalException e) {
      throw new IllegalArgumentException("impossible totals: " + e.getMessage(), e);
    }
  }

  public byte[] toBytes() {
    byte[] usageBytes = Money.unscaled(usage).toByteArray();
    byte[] byokBytes = Money.unscaled(byokUsageInference).toByteArray();
    ByteBuffer out = ByteBuffer.allocate(7 * Long.BYTES + 2 + usageBytes.length + byokBytes.length);
    out.putLong(requests)
        .putLong(promptTokens)
        .putLong(completionTokens)
        .putLong(reasoningTokens)
        .putLong(cachedTokens)
        .putLong(byokRequests)
        .putLong(version);
    out.put((byte) usageBytes.length).put(usageBytes);
    out.put((byte) byokBytes.length).put(byokBytes);
    return out.array();
  }

  public static GroupTotals fromBytes(byte[] bytes) {
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
        throw new IllegalArgumentException(
            "not stored totals: " + in.remaining() + " bytes left over");
      }
      return new GroupTotals(
          requests, prompt, completion, reasoning, cached, usage, byok, byokRequests, version);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("not stored totals: too short", e);
    }
  }

  private static BigDecimal readAmount(ByteBuffer in) {
    int length = in.get();
    if (length < 1 || length > MAX_AMOUNT_BYTES) {
      throw new IllegalArgumentException("not stored totals: an amount of " + length + " bytes");
    }
    byte[] unscaled = new byte[length];
    in.get(unscaled);
    return Money.ofUnscaled(new BigInteger(unscaled));
  }
}
