package io.tallyhouse.stream.rollup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.stream.Events;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The rollup cache keeps amounts as unscaled longs and moves to BigInteger when a sum leaves the
 * long range; its totals must equal plain BigDecimal addition (the oracle in {@link Events#totals})
 * on both sides of that edge, and the flush's own encoding must equal the stored totals' bytes.
 */
class RunningTotalsTest {

  /** The largest amount a long holds unscaled at scale 12: 9 223 372.036854775807. */
  private static final BigDecimal LONG_EDGE =
      new BigDecimal(BigInteger.valueOf(Long.MAX_VALUE), Money.SCALE);

  @Test
  void sumsEqualBigDecimalAdditionFromTinyToBeyondTheLongRange() {
    Random random = new Random(7);
    for (int run = 0; run < 200; run++) {
      List<UsageEvent> events = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        events.add(event(i, amount(random), amount(random), random.nextBoolean()));
      }
      assertFolds(null, events);
    }
  }

  @Test
  void aSumOneUnitBeyondTheLongRangeIsExact() {
    List<UsageEvent> events =
        List.of(
            event(1, LONG_EDGE, LONG_EDGE, true),
            event(2, new BigDecimal("0.000000000001"), new BigDecimal("0.000000000001"), true));
    RunningTotals slot = assertFolds(null, events);
    assertEquals(LONG_EDGE.add(new BigDecimal("0.000000000001")), slot.totals().usage());
  }

  @Test
  void theLargestLegalEventsSumExactlyThroughTheStoreFormat() {
    BigDecimal top = new BigDecimal("1000000000.000000000000");
    BigDecimal belowTop = new BigDecimal("999999999.999999999999");
    List<UsageEvent> events = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      events.add(event(i, i % 2 == 0 ? top : belowTop, i % 3 == 0 ? belowTop : top, true));
    }
    RunningTotals slot = assertFolds(null, events);
    GroupTotals back = GroupTotals.fromBytes(slot.totals().toBytes());
    assertEquals(new BigDecimal("19999999999999.999999990000"), back.usage());
    assertEquals(slot.totals(), back);
    // Carried on from a stored total near the top of Decimal(38,12): still exact, never wrapped.
    BigDecimal nearTop = new BigDecimal("99999999999999000000000000.000000000000");
    RunningTotals big =
        new RunningTotals("g", new GroupTotals(10, 0, 0, 0, 0, nearTop, nearTop, 0, 10));
    events.subList(0, 99).forEach(big::add);
    assertEquals(
        nearTop.add(new BigDecimal("98999999999.999999999951")),
        GroupTotals.fromBytes(big.totals().toBytes()).usage());
  }

  @Test
  void storedTotalsBeyondTheLongRangeGoOnAddingUp() {
    BigDecimal huge = new BigDecimal("99999999999999.999999999999");
    GroupTotals stored = new GroupTotals(7, 70, 140, 21, 28, huge, huge, 3, 7);
    RunningTotals slot = new RunningTotals("g", stored);
    assertEquals(stored, slot.totals());
    slot.add(event(1, new BigDecimal("0.000000000001"), BigDecimal.ZERO, false));
    assertEquals(new BigDecimal("100000000000000.000000000000"), slot.totals().usage());
    assertEquals(huge, slot.totals().byokUsageInference());
    assertEquals(8, slot.totals().version());
    assertEquals(8, slot.totals().requests());
  }

  @Test
  void theFlushEncodesPlainLongAmountsByteForByteAsTheTotalsDo() {
    List<Long> amounts = new ArrayList<>(List.of(0L, Long.MAX_VALUE));
    // Every length BigInteger.toByteArray can give a non-negative long: both sides of each sign
    // bit.
    for (int bits = 7; bits < Long.SIZE - 1; bits += 8) {
      amounts.add((1L << bits) - 1);
      amounts.add(1L << bits);
    }
    for (long usage : amounts) {
      for (long byok : List.of(0L, usage, Long.MAX_VALUE)) {
        RunningTotals slot =
            new RunningTotals(
                "g",
                new GroupTotals(
                    3, 4, 5, 6, 7, Money.ofUnscaled(usage), Money.ofUnscaled(byok), 8, 9));
        assertArrayEquals(slot.totals().toBytes(), slot.toBytes(), usage + " and " + byok);
        assertEquals(slot.totals(), GroupTotals.fromBytes(slot.toBytes()));
      }
    }
  }

  /** Folds {@code events} into a slot loaded from {@code stored} and compares with the oracle. */
  private static RunningTotals assertFolds(GroupTotals stored, List<UsageEvent> events) {
    RunningTotals slot = new RunningTotals("g", stored);
    for (UsageEvent e : events) {
      slot.add(e);
    }
    GroupTotals expected = Events.totals(events.toArray(UsageEvent[]::new));
    assertEquals(expected, slot.totals());
    assertArrayEquals(slot.totals().toBytes(), slot.toBytes(), "the flush's own encoding");
    // And the same after a trip through the store's bytes, as a group evicted and read back.
    RunningTotals reloaded = new RunningTotals("g", GroupTotals.fromBytes(slot.totals().toBytes()));
    assertEquals(expected, reloaded.totals());
    return slot;
  }

  /**
   * Mostly cents-sized amounts, some near and above the long range, up to decimal(38,12)'s 26
   * integer digits.
   */
  private static BigDecimal amount(Random random) {
    return switch (random.nextInt(4)) {
      case 0 -> BigDecimal.valueOf(random.nextInt(1_000_000), 9).setScale(Money.SCALE);
      case 1 -> LONG_EDGE.subtract(BigDecimal.valueOf(random.nextInt(1000), Money.SCALE));
      case 2 -> new BigDecimal(new BigInteger(80, random), Money.SCALE);
      default -> BigDecimal.ZERO.setScale(Money.SCALE);
    };
  }

  private static UsageEvent event(int id, BigDecimal cost, BigDecimal byokCost, boolean byok) {
    UsageEvent e = Events.event("acme", "e" + id, "2026-11-20T10:00:00Z", "u", "0");
    e.setCost(cost.setScale(Money.SCALE));
    e.setByokCost(byokCost.setScale(Money.SCALE));
    e.setIsByok(byok);
    return e;
  }
}
