package io.tallyhouse.stream.rollup;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;

/**
 * A group's running totals in {@link RollupStore}'s cache, and their stored form: {@link #toBytes}
 * is {@link GroupTotals#toBytes} byte for byte.
 *
 * <p>Updated in place: an update writes no reference into this long-lived object, so it costs the
 * garbage collector nothing (an immutable value replaced per update keeps G1's card refinement
 * busy: bench/README.md, "usage-stream"). {@code dirty} and {@code used} are the store's
 * bookkeeping of its cache.
 */
final class RunningTotals {
  final String group;
  long requests;
  long promptTokens;
  long completionTokens;
  long reasoningTokens;
  long cachedTokens;
  long byokRequests;
  long version;
  final Amount usage;
  final Amount byokUsage;

  /** The inner store holds older totals. */
  boolean dirty;

  /** Read or written since the last eviction pass (the clock algorithm's reference bit). */
  boolean used;

  RunningTotals(String group, GroupTotals stored) {
    this.group = group;
    if (stored == null) {
      usage = new Amount(BigDecimal.ZERO);
      byokUsage = new Amount(BigDecimal.ZERO);
      return;
    }
    requests = stored.requests();
    promptTokens = stored.promptTokens();
    completionTokens = stored.completionTokens();
    reasoningTokens = stored.reasoningTokens();
    cachedTokens = stored.cachedTokens();
    byokRequests = stored.byokRequests();
    version = stored.version();
    usage = new Amount(stored.usage());
    byokUsage = new Amount(stored.byokUsageInference());
  }

  void add(UsageEvent e) {
    requests++;
    promptTokens += e.getPromptTokens();
    completionTokens += e.getCompletionTokens();
    reasoningTokens += e.getReasoningTokens();
    cachedTokens += e.getCachedTokens();
    byokRequests += e.getIsByok() ? 1 : 0;
    version++;
    usage.add(e.getCost());
    byokUsage.add(e.getByokCost());
  }

  /**
   * {@code totals().toBytes()}, byte for byte, without the objects in between when both amounts are
   * plain longs (every group below about 9.2 million of money): the flush at every commit encodes
   * each changed group, about one per event.
   */
  byte[] toBytes() {
    if (!usage.plainLong() || !byokUsage.plainLong()) {
      return totals().toBytes();
    }
    ByteBuffer out =
        GroupTotals.storedLongs(
            requests,
            promptTokens,
            completionTokens,
            reasoningTokens,
            cachedTokens,
            byokRequests,
            version,
            2 + amountBytes(usage.unscaled) + amountBytes(byokUsage.unscaled));
    putAmount(out, usage.unscaled);
    putAmount(out, byokUsage.unscaled);
    return out.array();
  }

  /** The length of {@code BigInteger.valueOf(unscaled).toByteArray()} for {@code unscaled >= 0}. */
  private static int amountBytes(long unscaled) {
    return (Long.SIZE - Long.numberOfLeadingZeros(unscaled)) / Byte.SIZE + 1;
  }

  /** A length byte, then the two's complement bytes BigInteger.toByteArray gives, big-endian. */
  private static void putAmount(ByteBuffer out, long unscaled) {
    int length = amountBytes(unscaled);
    out.put((byte) length);
    for (int i = length - 1; i >= 0; i--) {
      out.put((byte) (unscaled >>> (Byte.SIZE * i)));
    }
  }

  GroupTotals totals() {
    return new GroupTotals(
        requests,
        promptTokens,
        completionTokens,
        reasoningTokens,
        cachedTokens,
        usage.value(),
        byokUsage.value(),
        byokRequests,
        version);
  }

  /**
   * An amount at scale 12, unscaled in a long until a sum leaves the long range (about 9.2
   * million), then in a BigInteger: exact either way, and an addition in range writes no reference.
   */
  private static final class Amount {
    private long unscaled;
    private BigInteger big;

    Amount(BigDecimal value) {
      BigInteger v = Money.unscaled(value);
      if (v.bitLength() < Long.SIZE) {
        unscaled = v.longValue();
      } else {
        big = v;
      }
    }

    void add(BigDecimal value) {
      BigInteger v = Money.unscaled(value);
      if (big == null && v.bitLength() < Long.SIZE) {
        long sum = unscaled + v.longValue();
        // Overflow iff both operands have the sign the result lacks (Math.addExact's test, without
        // the exception).
        if (((unscaled ^ sum) & (v.longValue() ^ sum)) >= 0) {
          unscaled = sum;
          return;
        }
      }
      big = (big == null ? BigInteger.valueOf(unscaled) : big).add(v);
    }

    BigDecimal value() {
      return big == null ? Money.ofUnscaled(unscaled) : Money.ofUnscaled(big);
    }

    /**
     * Whether the amount is a non-negative long: always below Decimal(38,12)'s bound, so {@link
     * RunningTotals#toBytes} may frame it without {@link GroupTotals}' checks.
     */
    boolean plainLong() {
      return big == null && unscaled >= 0;
    }
  }
}
