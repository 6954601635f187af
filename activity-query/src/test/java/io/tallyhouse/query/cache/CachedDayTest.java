package io.tallyhouse.query.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.query.activity.ActivityItem;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.json.JsonBytes;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Sums of a cached day at the edges of a long, and its JSON against {@link
 * ActivityItem#jsonObjects} on strings and amounts the generator escapes or shortens; the
 * integration test compares everything else with ClickHouse.
 */
class CachedDayTest {

  private static final LocalDate DAY = LocalDate.parse("2026-11-21");
  private static final String KEY = "ab".repeat(32);

  private static void add(DayLoad days, String user, String requests, String usage) {
    add(days, Workspaces.STORED_DEFAULT, user, requests, usage);
  }

  private static void add(
      DayLoad days, String storedWorkspace, String user, String requests, String usage) {
    days.add(
        DAY,
        storedWorkspace,
        KEY,
        user,
        "X/e",
        "e",
        "e-1",
        "X",
        new String[] {requests, "1", "2", "0", "0", "0"},
        new BigDecimal(usage),
        BigDecimal.ZERO);
  }

  private static ActivityRequest all() {
    return request(
        Optional.empty(), Optional.empty(), Optional.empty(), ActivityRequest.Grouping.NONE);
  }

  private static ActivityRequest request(
      Optional<String> workspace,
      Optional<String> key,
      Optional<String> user,
      ActivityRequest.Grouping grouping) {
    return new ActivityRequest(DAY, DAY, workspace, key, user, grouping);
  }

  @Test
  void amountsThatEachFitALongButNotTheirSumStayExact() {
    DayLoad days = new DayLoad();
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
    DayLoad days = new DayLoad();
    add(days, "a", "18446744073709551615", "1");
    add(days, "b", "3", "1");
    ActivityItem item = days.day(DAY, 7).items(all()).get(0);
    // sum(UInt64) in ClickHouse is UInt64: (2^64 - 1 + 3) mod 2^64 = 2.
    assertEquals(BigInteger.TWO, item.requests());
    assertEquals(BigInteger.valueOf(2), item.promptTokens());
  }

  @Test
  void theEmptyUserIsNoUserWhenGroupedAndAUserFilterTakesOnlyThatUsersRows() {
    DayLoad days = new DayLoad();
    add(days, "", "1", "1");
    add(days, "u", "2", "2");
    CachedDay day = days.day(DAY, 7);
    List<ActivityItem> byUser =
        day.items(
            request(
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                new ActivityRequest.Grouping(false, true, false)));
    assertEquals(2, byUser.size());
    assertEquals("u", byUser.get(0).userId(), "usage 2 first");
    assertNull(byUser.get(1).userId());
    List<ActivityItem> onlyU =
        day.items(
            request(
                Optional.empty(),
                Optional.empty(),
                Optional.of("u"),
                ActivityRequest.Grouping.NONE));
    assertEquals(BigInteger.TWO, onlyU.get(0).requests());
    assertEquals(7, day.marker());
    assertEquals(0, days.day(DAY.minusDays(1), 3).rows(), "a day without rows is an empty day");
  }

  @Test
  void workspacesAreSummedWithoutTheirGroupingAndShownAsTheApiNamesThem() {
    DayLoad days = new DayLoad();
    add(days, Workspaces.STORED_DEFAULT, "u", "1", "0.000000000001");
    add(days, "ws-1", "u", "2", "9000000.000000000002");
    add(days, "ws-1", "v", "4", "1");
    CachedDay day = days.day(DAY, 7);
    List<ActivityItem> summed = day.items(all());
    assertEquals(1, summed.size());
    assertEquals(BigInteger.valueOf(7), summed.get(0).requests());
    assertEquals(new BigDecimal("9000001.000000000003"), summed.get(0).usage());
    assertNull(summed.get(0).workspaceId());

    List<ActivityItem> byWorkspace =
        day.items(
            request(
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                new ActivityRequest.Grouping(true, false, false)));
    assertEquals(2, byWorkspace.size());
    assertEquals("ws-1", byWorkspace.get(0).workspaceId(), "usage first");
    assertEquals(BigInteger.valueOf(6), byWorkspace.get(0).requests());
    assertEquals("default", byWorkspace.get(1).workspaceId(), "'' is shown as default");

    List<ActivityItem> onlyDefault =
        day.items(
            request(
                Optional.of(Workspaces.DEFAULT),
                Optional.empty(),
                Optional.empty(),
                ActivityRequest.Grouping.NONE));
    assertEquals(BigInteger.ONE, onlyDefault.get(0).requests());
    assertNull(onlyDefault.get(0).workspaceId(), "a filter alone adds no workspace_id");
  }

  /**
   * Every character below 0x80 and a few beyond, as user ids, models and key hashes may hold them.
   */
  private static final List<String> HOSTILE = hostileStrings();

  private static List<String> hostileStrings() {
    List<String> strings = new ArrayList<>();
    StringBuilder ascii = new StringBuilder();
    for (char c = 0; c < 0x80; c++) {
      ascii.append(c);
    }
    strings.add(ascii.toString());
    strings.addAll(
        List.of(
            "\"quoted\"",
            "back\\slash",
            "ü'ser \\ 1",
            "\u2028\u2029",
            "emoji \uD83D\uDE00",
            "lone \uD83D surrogate",
            "tab\there",
            "</script>",
            "\u007f\u0080\u00ff",
            "plain"));
    return strings;
  }

  private static String json(CachedDay day, ActivityRequest request) {
    JsonBytes out = new JsonBytes(16);
    day.json(request, out, false, added -> {});
    return out.toString();
  }

  /**
   * What the answer's bytes held before the cache wrote them itself: the items through the JSON
   * generator.
   */
  private static String generated(CachedDay day, ActivityRequest request) {
    String text = ActivityItem.jsonObjects(day.items(request), request.grouping());
    return new String(
        text.getBytes(java.nio.charset.StandardCharsets.UTF_8),
        java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Every grouping with and without each filter (workspaces as the API names them). */
  private static List<ActivityRequest> requestsOf(String workspace, String user, String key) {
    List<ActivityRequest> requests = new ArrayList<>();
    for (Optional<String> workspaceFilter :
        List.of(
            Optional.<String>empty(), Optional.of(workspace), Optional.of(Workspaces.DEFAULT))) {
      for (Optional<String> userFilter : List.of(Optional.<String>empty(), Optional.of(user))) {
        for (Optional<String> keyFilter : List.of(Optional.<String>empty(), Optional.of(key))) {
          for (int grouping = 0; grouping < 8; grouping++) {
            requests.add(
                request(
                    workspaceFilter,
                    keyFilter,
                    userFilter,
                    new ActivityRequest.Grouping(
                        (grouping & 4) != 0, (grouping & 1) != 0, (grouping & 2) != 0)));
          }
        }
      }
    }
    return requests;
  }

  /** Workspaces as usage_daily stores them: '' is the default one. */
  private static final List<String> STORED_WORKSPACES =
      List.of(Workspaces.STORED_DEFAULT, "ws-1", "a:b.c_d-e");

  @Test
  void writtenJsonIsTheGeneratorsForHostileStringsFreshAndMemoized() {
    for (int rows : new int[] {3, CachedDay.MEMO_MIN_ROWS * 2}) {
      DayLoad days = new DayLoad();
      Random random = new Random(rows);
      for (int i = 0; i < rows; i++) {
        String user = i % 7 == 0 ? "" : HOSTILE.get(random.nextInt(HOSTILE.size()));
        String key = HOSTILE.get(random.nextInt(3));
        String model = HOSTILE.get(random.nextInt(HOSTILE.size()));
        days.add(
            DAY,
            STORED_WORKSPACES.get(random.nextInt(STORED_WORKSPACES.size())),
            key,
            user,
            "E" + random.nextInt(3),
            model,
            model + "-1",
            HOSTILE.get(random.nextInt(2)),
            new String[] {"1", "2", "3", "4", "5", "6"},
            new BigDecimal(random.nextInt(3) + "." + random.nextInt(1000)),
            new BigDecimal("0.5"));
      }
      CachedDay day = days.day(DAY, 1);
      for (ActivityRequest request : requestsOf("ws-1", HOSTILE.get(3), HOSTILE.get(1))) {
        String expected = generated(day, request);
        assertEquals(expected, json(day, request), rows + " rows, written: " + request);
        assertEquals(expected, json(day, request), rows + " rows, memoized: " + request);
      }
    }
  }

  @Test
  void writtenAmountsAndCountsAreTheGeneratorsAtEveryScaleAndSize() {
    Random random = new Random(42);
    List<String> amounts =
        new ArrayList<>(
            List.of(
                "0",
                "0.000000000000",
                "0.000000000001",
                "100.000000000000",
                "1.5",
                "9223372.036854775807",
                "9223372.036854775808",
                "12345678901234567890.123456789012",
                "-1.25",
                "-0.000000000001",
                "-9223372.036854775808",
                "-9223372.036854775809"));
    for (int i = 0; i < 2000; i++) {
      long unscaled =
          switch (i % 4) {
            case 0 -> random.nextLong();
            case 1 -> random.nextInt(1_000_000) * (long) Math.pow(10, random.nextInt(13));
            case 2 -> random.nextLong() % 1_000_000_000_000L;
            default -> Math.abs(random.nextLong() % 10_000_000_000_000_000L);
          };
      amounts.add(BigDecimal.valueOf(unscaled, 12).toPlainString());
    }
    List<String> counts =
        List.of("0", "1", "9223372036854775807", "9223372036854775808", "18446744073709551615");
    for (int i = 0; i < amounts.size(); i++) {
      DayLoad days = new DayLoad();
      String count = counts.get(i % counts.size());
      days.add(
          DAY,
          Workspaces.STORED_DEFAULT,
          KEY,
          "u",
          "X/e",
          "e",
          "e-1",
          "X",
          new String[] {count, count, "0", "1", count, "7"},
          new BigDecimal(amounts.get(i)),
          new BigDecimal(amounts.get(amounts.size() - 1 - i)));
      CachedDay day = days.day(DAY, 1);
      assertEquals(generated(day, all()), json(day, all()), amounts.get(i));
    }
  }

  @Test
  void theFootprintCountsTheRealLengthOfEveryUserId() {
    int rows = 1000;
    DayLoad shortIds = new DayLoad();
    DayLoad latin1Ids = new DayLoad();
    DayLoad emojiIds = new DayLoad();
    for (int i = 0; i < rows; i++) {
      add(shortIds, "u" + i, "1", "1");
      add(latin1Ids, String.format("%0256d", i), "1", "1");
      add(emojiIds, "\uD83D\uDE00".repeat(127) + (char) ('a' + i % 26) + i, "1", "1");
    }
    long small = shortIds.day(DAY, 1).footprint();
    long latin1 = latin1Ids.day(DAY, 1).footprint();
    long emoji = emojiIds.day(DAY, 1).footprint();
    // Each 256-character id is held twice: the String (one byte a character) and its JSON text
    // (UTF-8, quoted).
    assertTrue(latin1 - small >= rows * 2L * 250, small + " vs " + latin1);
    // 254 UTF-16 units of emoji: two bytes each in the String, four bytes a code point in the JSON.
    assertTrue(emoji - small >= rows * (2L * 254 + 4L * 127 - 20), small + " vs " + emoji);
    // The arrays and strings of a short-id row: a few hundred bytes, not the 100 once assumed for
    // any row.
    assertTrue(small > rows * 100L && small < rows * 400L, String.valueOf(small));
  }

  @Test
  void aUserIdSharedByRowsIsCountedOncePerDay() {
    long shortUser = footprintOfRowsOf("u");
    long longUser = footprintOfRowsOf("x".repeat(256));
    // 100 rows of one user: its String and JSON text once (about 2 x 256 bytes more), not once per
    // row.
    assertTrue(
        longUser - shortUser >= 2 * 240 && longUser - shortUser < 2 * 256 + 64,
        shortUser + " vs " + longUser);
  }

  private static long footprintOfRowsOf(String user) {
    DayLoad days = new DayLoad();
    for (int i = 0; i < 100; i++) {
      days.add(
          DAY,
          Workspaces.STORED_DEFAULT,
          KEY,
          user,
          "X/e" + i,
          "e",
          "e-1",
          "X",
          new String[] {"1", "1", "2", "0", "0", "0"},
          new BigDecimal("1"),
          BigDecimal.ZERO);
    }
    return days.day(DAY, 1).footprint();
  }
}
