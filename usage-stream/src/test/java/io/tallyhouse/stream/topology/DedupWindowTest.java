package io.tallyhouse.stream.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.maintenance.DayCloser;
import io.tallyhouse.stream.maintenance.OffsetsTwin;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stream's dedup window against events older than it, without a registry: each record's value
 * names a test event, which the deserializer looks up. gateway-ingest refuses events older than its
 * own DEDUP_WINDOW_DAYS; a stream with a shorter window must still count such an event once, or
 * refuse it naming the setting.
 */
class DedupWindowTest {

  private static final Instant WALL_CLOCK = Instant.parse("2026-11-23T00:00:00Z");
  private static final Duration WINDOW = Duration.ofDays(10);

  private final Map<String, UsageEvent> byId = new HashMap<>();

  @Test
  void anEventOlderThanTheWindowIsCountedOnceOrIsADeadLetterNamingDedupWindowDays(
      @TempDir Path stateDir) {
    Deserializer<UsageEvent> lookup =
        (topic, bytes) -> byId.get(new String(bytes, StandardCharsets.UTF_8));
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "dedup-window-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    try (TopologyTestDriver driver =
        new TopologyTestDriver(
            UsageTopology.build(
                new UsageTopology.Topics("events", "distinct", "dlq"),
                WINDOW,
                1_000,
                new DayCloser.Settings(100, new OffsetsTwin()),
                lookup,
                new LongAdder()),
            props,
            WALL_CLOCK)) {
      TestInputTopic<String, byte[]> events =
          driver.createInputTopic(
              "events", Serdes.String().serializer(), Serdes.ByteArray().serializer());
      TestOutputTopic<String, byte[]> distinct =
          driver.createOutputTopic(
              "distinct", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
      TestOutputTopic<String, byte[]> deadLetters =
          driver.createOutputTopic(
              "dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
      Instant appended = Instant.parse("2026-11-22T10:00:00Z");

      // Today's event gives the task its stream time; the next check closes the days before
      // 2026-11-11
      // (min(stream time, wall clock) - 10 days - 1 day).
      send(events, Events.event("acme", "today", "2026-11-22T09:00:00Z", null, "1"), appended);
      driver.advanceWallClockTime(DayCloser.CHECK_EVERY);
      distinct.readRecordsToList();

      // Ten days and two hours old, older than the window, on a day still open: counted, and a copy
      // of it is still recognised.
      UsageEvent old = Events.event("acme", "old", "2026-11-12T08:00:00Z", null, "1");
      send(events, old, appended.plusSeconds(1));
      send(events, old, appended.plusSeconds(2));
      assertEquals(
          List.of("acme/old"),
          distinct.readRecordsToList().stream().map(TestRecord::key).toList(),
          "counted once");

      // On a closed day: a dead letter, not counted, and the reason names the setting.
      send(
          events,
          Events.event("acme", "older", "2026-11-05T08:00:00Z", null, "1"),
          appended.plusSeconds(3));
      assertTrue(distinct.isEmpty(), "nothing counted for a closed day");
      List<TestRecord<String, byte[]>> dead = deadLetters.readRecordsToList();
      assertEquals(1, dead.size());
      String reason =
          new String(
              dead.get(0).headers().lastHeader(Decode.REASON).value(), StandardCharsets.UTF_8);
      assertTrue(reason.contains("DEDUP_WINDOW_DAYS=10"), reason);
    }
  }

  private void send(TestInputTopic<String, byte[]> events, UsageEvent e, Instant appended) {
    String id = e.getAccountId() + "/" + e.getEventId();
    byId.put(id, e);
    events.pipeInput(new TestRecord<>(id, id.getBytes(StandardCharsets.UTF_8), appended));
  }
}
