package io.tallyhouse.stream.rollup;

import io.tallyhouse.common.money.ImpossibleTotalException;
import io.tallyhouse.common.money.MoneyTotals;
import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;

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

  /** The indexes of the stored form's longs ({@link #storedLong}), in {@link #toBytes}' order. */
  public static final int REQUESTS = 0;

  public static final int PROMPT_TOKENS = 1;
  public static final int COMPLETION_TOKENS = 2;
  public static final int REASONING_TOKENS = 3;
  public static final int CACHED_TOKENS = 4;
  public static final int BYOK_REQUESTS = 5;
  public static final int VERSION = 6;

  /**
   * Where the amounts start in the stored form, each a length byte and that many bytes: the usage
   * amount's framing.
   */
  public static final int STORED_USAGE_AT = 7 * Long.BYTES;

  /** The unscaled 10^26 at scale 12, in {@link #MAX_AMOUNT_BYTES} bytes: no amount reaches it. */
  private static final byte[] AMOUNT_BOUND =
      BigInteger.TEN.pow(Money.MAX_INTEGER_DIGITS + Money.SCALE).toByteArray();

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
    ByteBuffer out =
        storedLongs(
            requests,
            promptTokens,
            completionTokens,
            reasoningTokens,
            cachedTokens,
            byokRequests,
            version,
            2 + usageBytes.length + byokBytes.length);
    out.put((byte) usageBytes.length).put(usageBytes);
    out.put((byte) byokBytes.length).put(byokBytes);
    return out.array();
  }

  /**
   * The stored form's seven longs, in their order, in a buffer with room for {@code amountBytes}
   * more (the two framed amounts).
   */
  static ByteBuffer storedLongs(
      long requests,
      long promptTokens,
      long completionTokens,
      long reasoningTokens,
      long cachedTokens,
      long byokRequests,
      long version,
      int amountBytes) {
    return ByteBuffer.allocate(7 * Long.BYTES + amountBytes)
        .putLong(requests)
        .putLong(promptTokens)
        .putLong(completionTokens)
        .putLong(reasoningTokens)
        .putLong(cachedTokens)
        .putLong(byokRequests)
        .putLong(version);
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

  /**
   * The {@code version} of stored totals, read without decoding the rest, refusing exactly what
   * {@link #fromBytes} refuses: the writer picks the newest version of a group in a batch this way
   * and renders only that one, and a corrupt record stops the batch whether it would win or not.
   */
  public static long version(byte[] bytes) {
    int usageAt = STORED_USAGE_AT;
    if (bytes.length <= usageAt) {
      throw new IllegalArgumentException("not stored totals: too short");
    }
    int byokAt = usageAt + 1 + checkAmount(bytes, usageAt);
    if (bytes.length <= byokAt) {
      throw new IllegalArgumentException("not stored totals: too short");
    }
    int end = byokAt + 1 + checkAmount(bytes, byokAt);
    if (bytes.length != end) {
      throw new IllegalArgumentException(
          bytes.length < end
              ? "not stored totals: too short"
              : "not stored totals: " + (bytes.length - end) + " bytes left over");
    }
    return storedLong(bytes, VERSION);
  }

  /**
   * The long at {@code index} ({@link #REQUESTS} to {@link #VERSION}) of stored totals that {@link
   * #version} accepted: the writer renders a row from the stored form without decoding it.
   */
  public static long storedLong(byte[] stored, int index) {
    return bigEndian(stored, index * Long.BYTES, Long.BYTES);
  }

  /** Where the byok amount of stored totals that {@link #version} accepted is framed. */
  public static int storedByokAt(byte[] stored) {
    return STORED_USAGE_AT + 1 + stored[STORED_USAGE_AT];
  }

  /**
   * The unscaled amount framed at {@code at} (of scale {@link Money#SCALE}) when it fits a long,
   * else -1 (no accepted amount is negative): then {@link #storedAmount} reads it.
   */
  public static long storedUnscaled(byte[] stored, int at) {
    int length = stored[at];
    return length <= Long.BYTES ? bigEndian(stored, at + 1, length) : -1;
  }

  /** The amount framed at {@code at}. */
  public static BigDecimal storedAmount(byte[] stored, int at) {
    return Money.ofUnscaled(new BigInteger(stored, at + 1, stored[at]));
  }

  /** The signed big-endian number in {@code length} (1 to 8) bytes from {@code at}. */
  private static long bigEndian(byte[] bytes, int at, int length) {
    long value = bytes[at];
    for (int i = at + 1; i < at + length; i++) {
      value = value << 8 | (bytes[i] & 0xff);
    }
    return value;
  }

  /**
   * The length of the amount framed at {@code at}, refused as the constructor refuses its value
   * when negative or of 10^26 or more (unscaled 10^38, which only sixteen bytes reach); the bytes
   * past the array's end are left to the caller's length check.
   */
  private static int checkAmount(byte[] bytes, int at) {
    int length = bytes[at];
    if (length < 1 || length > MAX_AMOUNT_BYTES) {
      throw new IllegalArgumentException("not stored totals: an amount of " + length + " bytes");
    }
    if (at + length >= bytes.length) {
      return length;
    }
    if (bytes[at + 1] < 0) {
      throw new IllegalArgumentException("impossible totals: a negative amount");
    }
    if (length == MAX_AMOUNT_BYTES
        && Arrays.compareUnsigned(
                bytes, at + 1, at + 1 + length, AMOUNT_BOUND, 0, AMOUNT_BOUND.length)
            >= 0) {
      throw new IllegalArgumentException("impossible totals: an amount of 10^26 or more");
    }
    return length;
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
