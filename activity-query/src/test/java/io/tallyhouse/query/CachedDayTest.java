package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Sums of a cached day at the edges of a long; the integration test compares everything else with ClickHouse. */
class CachedDayTest {

  private static final LocalDate DAY = LocalDate.parse("2026-11-21");
  private static final String KEY = "ab".repeat(32);

  private static void add(CachedDay.Days days, String user, String requests, String usage) {
    days.add(DAY, KEY, user, "X/e", "e", "e-1", "X", new String[] {requests, "1", "2", "0", "0", "0"}, usage, "0");
  }

  private static ActivityRequest all() {
    return new ActivityRequest(DAY, DAY, Optional.empty(), Optional.empty(), false, false);
  }

  @Test
  void amountsThatEachFitALongButNotTheirSumStayExact() {
    CachedDay.Days days = new CachedDay.Days();
    // 9 000 000 USD at scale 12 is 9e18 unscaled, just under 2^63 (9.22e18); two of them are not.
    add(days, "a", "1", "9000000.000000000001");
    add(days, "b", "1", "9000000.000000000002");
    add(days, "c", "1", "0.5");
    List<ActivityItem> items = days.day(DAY, 7).items(all());
    assertEquals(1, items.size());
    assertEquals(new BigDecimal("18000000.500000000003"), items.get(0).usage());
    assertEquals(12, items.get(0).usage().scale());
  }

  @Test
  void countsWrapAtTwoToTheSixtyFourAsClickHouseSumsDo() {
    CachedDay.Days days = new CachedDay.Days();
    add(days, "a", "18446744073709551615", "1");
    add(days, "b", "3", "1");
    ActivityItem item = days.day(DAY, 7).items(all()).get(0);
    // sum(UInt64) in ClickHouse is UInt64: (2^64 - 1 + 3) mod 2^64 = 2.
    assertEquals(BigInteger.TWO, item.requests());
    assertEquals(BigInteger.valueOf(2), item.promptTokens());
  }

  @Test
  void theEmptyUserIsNoUserWhenGroupedAndAUserFilterTakesOnlyThatUsersRows() {
    CachedDay.Days days = new CachedDay.Days();
    add(days, "", "1", "1");
    add(days, "u", "2", "2");
    CachedDay day = days.day(DAY, 7);
    List<ActivityItem> byUser = day.items(new ActivityRequest(DAY, DAY, Optional.empty(), Optional.empty(), true,
        false));
    assertEquals(2, byUser.size());
    assertEquals("u", byUser.get(0).userId(), "usage 2 first");
    assertNull(byUser.get(1).userId());
    List<ActivityItem> onlyU = day.items(new ActivityRequest(DAY, DAY, Optional.empty(), Optional.of("u"), false,
        false));
    assertEquals(BigInteger.TWO, onlyU.get(0).requests());
    assertEquals(7, day.marker());
    assertEquals(0, days.day(DAY.minusDays(1), 3).rows(), "a day without rows is an empty day");
  }
}
