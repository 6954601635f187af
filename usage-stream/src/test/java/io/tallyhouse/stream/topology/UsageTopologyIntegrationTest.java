package io.tallyhouse.stream.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.maintenance.DayCloser;
import io.tallyhouse.stream.maintenance.OffsetsTwin;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.rollup.RollupStore;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.stream.rows.UsageDailyRow;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dedup and rollup logic of the topology, record by record (the serde talks to the real registry).
 */
public class UsageTopologyIntegrationTest {

  private TopologyTestDriver driver;
  private TestInputTopic<String, UsageEvent> events;
  private TestOutputTopic<String, byte[]> rollups;
  private TestInputTopic<String, byte[]> rawInput;
  private TestOutputTopic<String, byte[]> distinct;
  private TestOutputTopic<String, byte[]> deadLetters;
  private final java.util.concurrent.atomic.LongAdder deadLettered =
      new java.util.concurrent.atomic.LongAdder();
  private final OffsetsTwin writer = new OffsetsTwin();

  /** The driver's wall clock: closing days takes the earlier of it and stream time. */
  private static final Instant WALL_CLOCK = Instant.parse("2026-11-23T00:00:00Z");

  @BeforeEach
  void setUp(@TempDir Path stateDir) {
    Serde<UsageEvent> serde = serde();
    Properties props = driverProperties("topology-test", stateDir);
    // The driver commits after every record, so each update reaches the changelog at once; a cache
    // of two groups also
    // makes the tests with more groups evict.
    driver =
        new TopologyTestDriver(
            UsageTopology.build(
                new UsageTopology.Topics("events", "distinct", "dlq"),
                Duration.ofDays(35),
                2,
                new DayCloser.Settings(1000, writer),
                serde.deserializer(),
                deadLettered),
            props,
            WALL_CLOCK);
    events = driver.createInputTopic("events", Serdes.String().serializer(), serde.serializer());
    rawInput =
        driver.createInputTopic(
            "events", Serdes.String().serializer(), Serdes.ByteArray().serializer());
    rollups =
        driver.createOutputTopic(
            RollupStore.changelogTopic("topology-test"),
            Serdes.String().deserializer(),
            Serdes.ByteArray().deserializer());
    distinct =
        driver.createOutputTopic(
            "distinct", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    deadLetters =
        driver.createOutputTopic(
            "dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
  }

  /** The event serde on the real registry. */
  public static Serde<UsageEvent> serde() {
    return UsageEventSerde.create(
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url())));
  }

  /** A TopologyTestDriver's settings: its application id and state directory. */
  public static Properties driverProperties(String applicationId, Path stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    return props;
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  private void send(UsageEvent e) {
    events.pipeInput(
        new TestRecord<>(e.getAccountId() + "/" + e.getEventId(), e, e.getCreatedAt()));
  }

  private Map<String, UsageDailyRow> latestRollups() {
    Map<String, UsageDailyRow> latest = new HashMap<>();
    for (TestRecord<String, byte[]> r : rollups.readRecordsToList()) {
      latest.put(r.key(), UsageDailyRow.of(r.key(), GroupTotals.fromBytes(r.value())));
    }
    return latest;
  }

  @Test
  void duplicatesAreCountedOnceEvenDaysLater() {
    UsageEvent e = Events.event("acme", "gen-1", "2026-11-01T10:00:00Z", "u1", "0.5");
    send(e);
    send(e);
    // Stream time moves 20 days on with other events; the copy still falls inside the 35-day
    // window.
    send(Events.event("acme", "gen-2", "2026-11-21T10:00:00Z", "u1", "1"));
    send(e);
    Map<String, UsageDailyRow> latest = latestRollups();
    UsageDailyRow day = latest.get(GroupKey.of(e));
    assertEquals(1, day.totals().requests());
    assertEquals(1, day.totals().version());
    assertEquals(new BigDecimal("0.500000000000"), day.totals().usage());
  }

  @Test
  void sameEventIdInAnotherAccountIsADifferentEvent() {
    send(Events.event("acme", "gen-1", "2026-11-20T10:00:00Z", null, "1"));
    send(Events.event("beta", "gen-1", "2026-11-20T10:00:00Z", null, "2"));
    Map<String, UsageDailyRow> latest = latestRollups();
    assertEquals(2, latest.size());
    assertTrue(latest.values().stream().allMatch(r -> r.totals().requests() == 1));
  }

  @Test
  void rollupEmitsFullRunningTotalsWithExactMoneyAndGrowingVersions() {
    send(Events.event("acme", "1", "2026-11-20T00:00:00Z", "u1", "0.000000000001"));
    send(Events.event("acme", "2", "2026-11-20T12:00:00Z", "u1", "123456789.123456789012"));
    send(Events.event("acme", "3", "2026-11-20T23:59:59.999999Z", "u1", "4.3022187e-05"));
    List<TestRecord<String, byte[]>> out = rollups.readRecordsToList();
    assertEquals(3, out.size());
    List<Long> versions =
        out.stream().map(r -> GroupTotals.fromBytes(r.value()).version()).toList();
    assertEquals(List.of(1L, 2L, 3L), versions);
    UsageDailyRow last =
        UsageDailyRow.of(out.get(2).key(), GroupTotals.fromBytes(out.get(2).value()));
    assertEquals(new BigDecimal("123456789.123499811200"), last.totals().usage());
    assertEquals(3, last.totals().requests());
    assertEquals(30, last.totals().promptTokens());
    assertEquals(60, last.totals().completionTokens());
    assertEquals(9, last.totals().reasoningTokens());
    assertEquals(12, last.totals().cachedTokens());
    assertEquals(LocalDate.parse("2026-11-20"), last.date());
    assertEquals("u1", last.userId());
  }

  @Test
  void groupsSplitByUtcDayUserAndKey() {
    send(Events.event("acme", "1", "2026-11-20T23:59:59.999Z", "u1", "1"));
    send(Events.event("acme", "2", "2026-11-21T00:00:00Z", "u1", "1"));
    send(Events.event("acme", "3", "2026-11-21T00:00:01Z", null, "1"));
    UsageEvent otherKey = Events.event("acme", "4", "2026-11-21T00:00:02Z", null, "1");
    otherKey.setApiKeyHash(Events.KEY_B);
    send(otherKey);
    Map<String, UsageDailyRow> latest = latestRollups();
    assertEquals(4, latest.size());
    assertEquals(
        List.of("", "", "u1", "u1"),
        latest.values().stream().map(UsageDailyRow::userId).sorted().toList());
    assertEquals(
        1,
        latest.values().stream()
            .filter(r -> r.date().equals(LocalDate.parse("2026-11-20")))
            .count());
  }

  @Test
  void byokCostsAndRequestsAddUp() {
    UsageEvent a = Events.event("acme", "1", "2026-11-20T10:00:00Z", null, "0.1");
    a.setIsByok(true);
    a.setByokCost(new BigDecimal("0.250000000000"));
    send(a);
    send(Events.event("acme", "2", "2026-11-20T11:00:00Z", null, "0.2"));
    UsageDailyRow r = latestRollups().get(GroupKey.of(a));
    assertEquals(2, r.totals().requests());
    assertEquals(1, r.totals().byokRequests());
    assertEquals(new BigDecimal("0.250000000000"), r.totals().byokUsageInference());
    assertEquals(new BigDecimal("0.300000000000"), r.totals().usage());
  }

  @Test
  void aCopyNearTheEndOfTheDedupWindowIsStillDropped() {
    UsageEvent early = Events.event("acme", "old", "2026-10-01T00:00:00Z", null, "1");
    send(early);
    // Stream time moves 34 days and 23 hours on: the copy still counts as seen.
    send(Events.event("acme", "new", "2026-11-04T23:00:00Z", null, "1"));
    send(early);
    Map<String, UsageDailyRow> latest = latestRollups();
    assertEquals(1, latest.get(GroupKey.of(early)).totals().requests());
    assertEquals(2, distinct.readRecordsToList().size());
  }

  @Test
  void aLateEventUpdatesItsDayInsteadOfBeingDropped() {
    UsageEvent first = Events.event("acme", "1", "2026-11-01T10:00:00Z", null, "1");
    send(first);
    // Ten days of newer traffic, then an event for the first day arrives: no grace period drops it.
    send(Events.event("acme", "2", "2026-11-11T10:00:00Z", null, "1"));
    send(Events.event("acme", "3", "2026-11-01T22:00:00Z", null, "2"));
    UsageDailyRow day = latestRollups().get(GroupKey.of(first));
    assertEquals(2, day.totals().requests());
    assertEquals(new BigDecimal("3.000000000000"), day.totals().usage());
    assertEquals(2, day.totals().version());
  }

  @Test
  void poisonRecordsGoToTheDeadLetterTopicWithReasonAndSourceAndNothingElseChanges() {
    send(Events.event("acme", "good-1", "2026-11-20T10:00:00Z", null, "1"));
    rawInput.pipeInput("k1", new byte[] {1, 2, 3, 4, 5, 6}); // wrong magic byte
    rawInput.pipeInput("k2", new byte[] {0, 0x7f, 0x7f, 0x7f, 0x70, 1}); // unknown schema id
    UsageEvent bad = Events.event("acme", "bad-cost", "2026-11-20T10:00:00Z", null, "1");
    bad.setCost(new BigDecimal("-1.000000000000"));
    send(bad); // breaks an invariant
    send(Events.event("acme", "good-2", "2026-11-20T11:00:00Z", null, "1"));

    List<TestRecord<String, byte[]>> dead = deadLetters.readRecordsToList();
    assertEquals(List.of("k1", "k2", "acme/bad-cost"), dead.stream().map(TestRecord::key).toList());
    assertEquals(6, dead.get(0).value().length, "the original bytes are kept");
    assertTrue(header(dead.get(0), Decode.REASON).contains("magic byte"));
    assertTrue(
        header(dead.get(1), Decode.REASON).contains("40403"), header(dead.get(1), Decode.REASON));
    assertTrue(header(dead.get(2), Decode.REASON).contains("negative"));
    assertEquals("events/0@1", header(dead.get(0), Decode.SOURCE));
    assertEquals(3, deadLettered.sum());

    Map<String, UsageDailyRow> latest = latestRollups();
    assertEquals(1, latest.size());
    assertEquals(2, latest.values().iterator().next().totals().requests());
    assertEquals(2, distinct.readRecordsToList().size());
  }

  @Test
  void aFieldHoldingTheGroupKeySeparatorIsPoisonNotAShiftedGroup() {
    UsageEvent bad = Events.event("acme", "sep", "2026-11-20T10:00:00Z", "u1\u001facme-other", "1");
    send(bad);
    assertEquals(
        List.of("acme/sep"),
        deadLetters.readRecordsToList().stream().map(TestRecord::key).toList());
    assertTrue(latestRollups().isEmpty());
  }

  @Test
  void lengthsAreCountedInCodePointsAsAtIngest() {
    // 104 code points, 204 UTF-16 units: legal at ingest, so it must be counted here.
    UsageEvent emoji =
        Events.event(
            "acme",
            "gen-" + "\ud83d\ude00".repeat(100),
            "2026-11-20T10:00:00Z",
            "\ud83d\ude00".repeat(256),
            "1");
    send(emoji);
    UsageEvent tooLong =
        Events.event(
            "acme", "gen-" + "\ud83d\ude00".repeat(125), "2026-11-20T10:00:00Z", null, "1");
    send(tooLong);
    assertEquals(1, distinct.readRecordsToList().size());
    List<TestRecord<String, byte[]>> dead = deadLetters.readRecordsToList();
    assertEquals(
        List.of(tooLong.getAccountId() + "/" + tooLong.getEventId()),
        dead.stream().map(TestRecord::key).toList());
    assertTrue(
        header(dead.get(0), Decode.REASON).startsWith("event_id must be 1-128 characters"),
        header(dead.get(0), Decode.REASON));
  }

  @Test
  void moneyAboveTenToTheNinthAndTokensAboveTenToTheTwelfthArePoison() {
    UsageEvent largest =
        Events.event("acme", "largest", "2026-11-20T10:00:00Z", null, "1000000000");
    largest.setByokCost(new BigDecimal("1000000000.000000000000"));
    largest.setPromptTokens(1_000_000_000_000L);
    UsageEvent cost =
        Events.event("acme", "cost", "2026-11-20T10:00:00Z", null, "1000000000.000000000001");
    UsageEvent byok = Events.event("acme", "byok", "2026-11-20T10:00:00Z", null, "1");
    byok.setByokCost(new BigDecimal("99999999999999999999999999.000000000000"));
    UsageEvent tokens = Events.event("acme", "tokens", "2026-11-20T10:00:00Z", null, "1");
    tokens.setCachedTokens(1_000_000_000_001L);
    for (UsageEvent e : List.of(largest, cost, byok, tokens)) {
      send(e);
    }
    assertEquals(1, distinct.readRecordsToList().size(), "the largest legal event is counted");
    List<TestRecord<String, byte[]>> dead = deadLetters.readRecordsToList();
    assertEquals(
        List.of("acme/cost", "acme/byok", "acme/tokens"),
        dead.stream().map(TestRecord::key).toList());
    List<String> reasons = dead.stream().map(r -> header(r, Decode.REASON)).toList();
    assertTrue(reasons.get(0).startsWith("cost must be at most 10^9"), reasons.toString());
    assertTrue(reasons.get(1).startsWith("byok_cost must be at most 10^9"), reasons.toString());
    assertTrue(
        reasons.get(2).startsWith("cached_tokens must be between 0 and 10^12"), reasons.toString());
  }

  @Test
  void timesOutsideClickHousesDateTimeRangeArePoisonNotAnotherTime() {
    UsageEvent tooLate = Events.event("acme", "late", "2106-01-01T00:00:00Z", null, "1");
    UsageEvent receivedTooEarly = Events.event("acme", "early", "2026-11-20T10:00:00Z", null, "1");
    receivedTooEarly.setReceivedAt(java.time.Instant.parse("1969-12-31T23:59:59Z"));
    send(tooLate);
    send(receivedTooEarly);
    send(Events.event("acme", "edge", "2105-12-31T23:59:59Z", null, "1"));
    List<TestRecord<String, byte[]>> dead = deadLetters.readRecordsToList();
    assertEquals(List.of("acme/late", "acme/early"), dead.stream().map(TestRecord::key).toList());
    assertTrue(header(dead.get(0), Decode.REASON).contains("between 1970-01-01 and 2105-12-31"));
    assertEquals(
        1,
        distinct.readRecordsToList().size(),
        "the last second of 2105 is still a ClickHouse DateTime");
  }

  @Test
  void
      daysBeyondTheWindowAndADayAreClosedTheirRollupsLeaveTheStoreAndTheirEventsBecomeDeadLetters() {
    UsageEvent old = Events.event("acme", "old-1", "2026-09-01T10:00:00Z", null, "1");
    UsageEvent open = Events.event("acme", "open-1", "2026-10-20T10:00:00Z", null, "1");
    send(old);
    send(open);
    // A record from the future (another producer's clock) moves stream time far ahead; the wall
    // clock
    // (2026-11-23) still bounds the cut-off, so the day of 2026-10-20 stays open.
    send(Events.event("acme", "future-1", "2027-06-01T10:00:00Z", null, "1"));
    rollups.readRecordsToList();
    distinct.readRecordsToList();

    driver.advanceWallClockTime(DayCloser.CHECK_EVERY);

    // 2026-11-23 - 35 days - 1 day falls on 2026-10-18: the days before it are closed.
    List<TestRecord<String, byte[]>> changes = groupChanges();
    assertEquals(List.of(GroupKey.of(old)), changes.stream().map(TestRecord::key).toList());
    assertEquals(
        null,
        changes.get(0).value(),
        "a tombstone: the store forgets the group, ClickHouse keeps its row");

    send(Events.event("acme", "old-2", "2026-09-01T11:00:00Z", null, "1"));
    List<TestRecord<String, byte[]>> dead = deadLetters.readRecordsToList();
    assertEquals(List.of("acme/old-2"), dead.stream().map(TestRecord::key).toList());
    assertTrue(
        header(dead.get(0), Decode.REASON).contains("closed UTC day (before 2026-10-18)"),
        header(dead.get(0), Decode.REASON));
    // An operator who set another window on gateway-ingest sees which setting disagrees.
    assertTrue(
        header(dead.get(0), Decode.REASON).contains("DEDUP_WINDOW_DAYS=35"),
        header(dead.get(0), Decode.REASON));
    assertTrue(rollups.isEmpty(), "nothing counted for a closed day");
    assertTrue(distinct.isEmpty(), "no raw row for a closed day");

    // A late event of a day still open is counted on top of its group's totals.
    send(Events.event("acme", "open-2", "2026-10-20T11:00:00Z", null, "1"));
    UsageDailyRow day = latestRollups().get(GroupKey.of(open));
    assertEquals(2, day.totals().requests());
    assertEquals(2, day.totals().version());
  }

  @Test
  void aCreatedAtFarAheadOfTheRecordTimestampIsPoisonAndDedupHoldsForTheRestOfThePartition() {
    UsageEvent a = Events.event("acme", "gen-a", "2026-11-20T09:00:00Z", null, "1");
    UsageEvent future = Events.event("acme", "gen-f", "2100-01-01T00:00:00Z", null, "1");
    UsageEvent b = Events.event("acme", "gen-b", "2026-11-20T09:30:00Z", null, "2");
    // The broker stamps each record when it stores it (LogAppendTime): here, minutes after the
    // events happened.
    Instant appended = Instant.parse("2026-11-20T10:00:00Z");
    List<UsageEvent> sequence = List.of(a, future, a, b, b);
    for (int i = 0; i < sequence.size(); i++) {
      UsageEvent e = sequence.get(i);
      events.pipeInput(
          new TestRecord<>(e.getAccountId() + "/" + e.getEventId(), e, appended.plusSeconds(i)));
    }

    UsageDailyRow day = latestRollups().get(GroupKey.of(a));
    assertEquals(2, day.totals().requests(), "A and B once each");
    assertEquals(new BigDecimal("3.000000000000"), day.totals().usage());
    assertEquals(2, distinct.readRecordsToList().size());
    List<TestRecord<String, byte[]>> dead = deadLetters.readRecordsToList();
    assertEquals(List.of("acme/gen-f"), dead.stream().map(TestRecord::key).toList());
    assertTrue(
        header(dead.get(0), Decode.REASON).contains("created_at 2100-01-01T00:00:00Z is"),
        header(dead.get(0), Decode.REASON));
  }

  @Test
  void aCreatedAtWithinTheAllowedSkewOfTheRecordTimestampIsCounted() {
    Instant appended = Instant.parse("2026-11-20T10:00:00Z");
    Instant edge = appended.plus(Decode.MAX_AHEAD_OF_RECORD);
    UsageEvent ahead = Events.event("acme", "ahead", edge.toString(), null, "1");
    UsageEvent beyond = Events.event("acme", "beyond", edge.plusMillis(1).toString(), null, "1");
    events.pipeInput(new TestRecord<>("acme/ahead", ahead, appended));
    events.pipeInput(new TestRecord<>("acme/beyond", beyond, appended));
    assertEquals(
        List.of("acme/beyond"),
        deadLetters.readRecordsToList().stream().map(TestRecord::key).toList());
    assertEquals(1, distinct.readRecordsToList().size());
  }

  @Test
  void aClosedDaysGroupsStayInTheStoreUntilTheWriterCommittedPastTheChangelogsEnd() {
    UsageEvent old = Events.event("acme", "old-1", "2026-09-01T10:00:00Z", null, "1");
    send(old);
    send(Events.event("acme", "now-1", "2026-11-22T10:00:00Z", null, "1"));
    rollups.readRecordsToList();
    writer.stableEnd = 40;
    writer.writerCommitted = 39;

    driver.advanceWallClockTime(DayCloser.CHECK_EVERY);
    driver.advanceWallClockTime(DayCloser.STEP_EVERY);
    // The day is closed at once, but its group's tombstone waits: compaction could drop its last
    // totals unread.
    send(Events.event("acme", "old-2", "2026-09-01T11:00:00Z", null, "1"));
    assertEquals(
        List.of("acme/old-2"),
        deadLetters.readRecordsToList().stream().map(TestRecord::key).toList());
    assertEquals(List.of(), groupChanges());

    writer.writerCommitted = 40;
    driver.advanceWallClockTime(DayCloser.STEP_EVERY);
    assertEquals(List.of(GroupKey.of(old)), groupChanges().stream().map(TestRecord::key).toList());
  }

  /** The changelog's records of groups, without the probe of closing days. */
  private List<TestRecord<String, byte[]>> groupChanges() {
    String probe = new String(DayCloser.PROBE.get(), java.nio.charset.StandardCharsets.UTF_8);
    return rollups.readRecordsToList().stream().filter(r -> !r.key().equals(probe)).toList();
  }

  @Test
  void distinctEventsAreRawRowsWithExactMoney() {
    UsageEvent e =
        Events.event("acme", "raw-1", "2026-11-20T10:00:00.123456Z", "zoë", "4.3022187e-05");
    send(e);
    send(e);
    List<TestRecord<String, byte[]>> rows = distinct.readRecordsToList();
    assertEquals(1, rows.size());
    java.util.Map<String, String> row =
        Events.byColumn(rows.get(0).value(), DistinctEventRow.COLUMNS);
    assertEquals("0.000043022187", row.get("cost"));
    assertEquals("2026-11-20", row.get("date"));
    assertEquals("2026-11-20 10:00:00", row.get("created_at"));
    assertEquals("1795168800123456", row.get("created_at_us"));
    assertEquals("zoë", row.get("user"));
    assertEquals("\\N", row.get("app"), "NULL");
  }

  private static String header(TestRecord<String, byte[]> record, String name) {
    return new String(
        record.headers().lastHeader(name).value(), java.nio.charset.StandardCharsets.UTF_8);
  }
}
