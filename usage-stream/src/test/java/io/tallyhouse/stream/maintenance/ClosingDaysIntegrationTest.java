package io.tallyhouse.stream.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.rollup.RollupStore;
import io.tallyhouse.stream.rows.UsageDailyRow;
import io.tallyhouse.stream.topology.UsageTopology;
import io.tallyhouse.stream.topology.UsageTopologyIntegrationTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.BitSet;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing days in a task that holds millions of groups, in the real RocksDB store: no step deletes
 * more than its bound, every group of a closed day ends up deleted and no other, and a closed day's
 * event is a dead letter while the deletion is still going on.
 */
class ClosingDaysIntegrationTest {

  private static final int CLOSED_GROUPS = 1_000_000;
  private static final int OPEN_GROUPS = 1_000_000;
  private static final int PER_STEP = 20_000;
  private static final Instant WALL_CLOCK = Instant.parse("2026-11-23T00:00:00Z");

  /** The cut-off once the task's stream time is 2026-11-22T10:00: that - 35 days - 1 day. */
  private static final String FIRST_OPEN_DAY = "2026-10-17";

  @Test
  void twoMillionGroupsAreSweptInBoundedStepsAndOnlyTheClosedDaysGo(@TempDir Path stateDir) {
    Serde<UsageEvent> serde = UsageTopologyIntegrationTest.serde();
    Properties props = UsageTopologyIntegrationTest.driverProperties("closing-days-test", stateDir);
    try (TopologyTestDriver driver =
        new TopologyTestDriver(
            UsageTopology.build(
                new UsageTopology.Topics("events", "distinct", "dlq"),
                Duration.ofDays(35),
                10_000,
                new DayCloser.Settings(PER_STEP, new OffsetsTwin()),
                serde.deserializer(),
                new LongAdder()),
            props,
            WALL_CLOCK)) {
      TestInputTopic<String, UsageEvent> events =
          driver.createInputTopic("events", Serdes.String().serializer(), serde.serializer());
      TestOutputTopic<String, byte[]> rollups =
          driver.createOutputTopic(
              RollupStore.changelogTopic("closing-days-test"),
              Serdes.String().deserializer(),
              Serdes.ByteArray().deserializer());
      TestOutputTopic<String, byte[]> deadLetters =
          driver.createOutputTopic(
              "dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());

      // Loaded straight into the task's store: group i is user "u<i>", on a closed day for i <
      // CLOSED_GROUPS.
      RollupStore store = (RollupStore) driver.getStateStore(RollupStore.NAME);
      UsageEvent closed = Events.event("acme", "load", "2026-10-01T10:00:00Z", null, "1");
      UsageEvent open = Events.event("acme", "load", "2026-11-20T10:00:00Z", null, "1");
      for (int i = 0; i < CLOSED_GROUPS + OPEN_GROUPS; i++) {
        UsageEvent e = i < CLOSED_GROUPS ? closed : open;
        e.setUser("u" + i);
        store.add(e);
        if (i % 100_000 == 99_999) {
          // A commit: the cache's changes go to RocksDB and the changelog, which is then read to
          // keep memory flat.
          driver.advanceWallClockTime(Duration.ZERO);
          rollups.readRecordsToList();
        }
      }
      driver.advanceWallClockTime(Duration.ZERO);
      rollups.readRecordsToList();

      // An event of today gives the task a stream time; the next step closes the days before
      // FIRST_OPEN_DAY.
      events.pipeInput(
          new TestRecord<>(
              "acme/today",
              Events.event("acme", "today", "2026-11-22T10:00:00Z", "x", "1"),
              Instant.parse("2026-11-22T10:00:00Z")));
      rollups.readRecordsToList();

      String probe = new String(DayCloser.PROBE.get(), StandardCharsets.UTF_8);
      BitSet deleted = new BitSet(CLOSED_GROUPS);
      int steps = 0;
      int mostInOneStep = 0;
      boolean deadLetterSeenMidway = false;
      while (deleted.cardinality() < CLOSED_GROUPS
          && steps < 2 * (CLOSED_GROUPS + OPEN_GROUPS) / PER_STEP) {
        driver.advanceWallClockTime(steps == 0 ? DayCloser.CHECK_EVERY : DayCloser.STEP_EVERY);
        steps++;
        int inThisStep = 0;
        for (TestRecord<String, byte[]> change : rollups.readRecordsToList()) {
          if (change.key().equals(probe)) {
            continue;
          }
          assertEquals(null, change.value(), "closing only deletes: " + change.key());
          UsageDailyRow group = UsageDailyRow.of(change.key(), null);
          assertTrue(
              group.date().toString().compareTo(FIRST_OPEN_DAY) < 0,
              "an open day's group deleted: " + change.key());
          int index = Integer.parseInt(group.userId().substring(1));
          assertFalse(deleted.get(index), "deleted twice: " + change.key());
          deleted.set(index);
          inThisStep++;
        }
        mostInOneStep = Math.max(mostInOneStep, inThisStep);
        if (!deadLetterSeenMidway && deleted.cardinality() > CLOSED_GROUPS / 2) {
          // Half of the closed groups are still in the store: a closed day's event must not restart
          // one of them.
          UsageEvent late =
              Events.event("acme", "late", "2026-10-01T11:00:00Z", "u" + (CLOSED_GROUPS - 1), "1");
          events.pipeInput(
              new TestRecord<>("acme/late", late, Instant.parse("2026-11-22T11:00:00Z")));
          assertEquals(
              List.of("acme/late"),
              deadLetters.readRecordsToList().stream().map(TestRecord::key).toList());
          deadLetterSeenMidway = true;
        }
      }
      assertTrue(deadLetterSeenMidway);
      assertEquals(
          CLOSED_GROUPS,
          deleted.cardinality(),
          "every closed group deleted, after " + steps + " steps");
      assertTrue(mostInOneStep <= PER_STEP, "one step deleted " + mostInOneStep);

      // An open group kept its totals: its next event is its second.
      UsageEvent next =
          Events.event("acme", "next", "2026-11-20T11:00:00Z", "u" + (CLOSED_GROUPS + 7), "1");
      events.pipeInput(new TestRecord<>("acme/next", next, Instant.parse("2026-11-22T12:00:00Z")));
      List<TestRecord<String, byte[]>> after = rollups.readRecordsToList();
      assertEquals(List.of(GroupKey.of(next)), after.stream().map(TestRecord::key).toList());
      assertEquals(2, GroupTotals.fromBytes(after.get(0).value()).version());
    }
  }
}
