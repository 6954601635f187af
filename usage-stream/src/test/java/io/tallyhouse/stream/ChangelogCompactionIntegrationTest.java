package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.stream.maintenance.DayCloser;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.rows.UsageDailyRow;
import io.tallyhouse.stream.topology.UsageTopology;
import io.tallyhouse.stream.writer.ClickHouseWriter;
import io.tallyhouse.testkit.Backend;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the real broker and ClickHouse: a day's late update, the day closing and the log cleaner
 * compacting the rollups changelog, all while ClickHouse is down, and still the late update reaches
 * usage_daily once ClickHouse is back.
 *
 * <p>Time: the events topic here keeps the producer's timestamps ({@code CreateTime}), so the test
 * moves stream time; with a dedup window of one day, the day three days ago is open while stream
 * time is two days back and closes once a record of now arrives.
 */
class ChangelogCompactionIntegrationTest {

  @Test
  void aLateUpdateOfADayThatClosedWhileClickHouseWasDownSurvivesCompaction(@TempDir Path dir)
      throws Exception {
    assumeTrue(
        Infra.backend() == Backend.LOCAL, "stopping ClickHouse in place needs the local backend");
    String name = "cc_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<String, String> env = Infra.serviceEnvironment();
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("APPLICATION_ID", name);
    env.put("STATE_DIR", dir.toString());
    env.put("DEDUP_WINDOW_DAYS", "1");
    env.put("COMMIT_INTERVAL_MS", "100");
    env.put("WRITER_MAX_WAIT_MS", "50");
    StreamConfig config = ServiceMain.read(env, StreamConfig::read);
    Migrations.apply(config.clickHouse());
    Instant now = Instant.now();
    LocalDate day = LocalDate.ofInstant(now, ZoneOffset.UTC).minusDays(3);
    Instant before = now.minus(Duration.ofDays(2));
    UsageEvent first = Events.event("acme", "first", day + "T10:00:00Z", "g", "1.25");
    UsageEvent late = Events.event("acme", "late", day + "T11:00:00Z", "g", "0.000000000007");
    String group = GroupKey.of(first);
    TopicPartition changelog = new TopicPartition(config.rollupsTopic(), 0);

    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    Map<String, Object> kafka = Map.of("bootstrap.servers", config.bootstrapServers());
    try (Admin admin = Admin.create(kafka);
        KafkaProducer<String, UsageEvent> producer =
            new KafkaProducer<>(
                kafka, new StringSerializer(), UsageEventSerde.serializer(registry));
        ClickHouse clickHouse = new ClickHouse(config.clickHouse())) {
      clickHouse.createDatabaseIfMissing();
      admin
          .createTopics(
              List.of(
                  new NewTopic(config.eventsTopic(), 1, (short) 1)
                      .configs(Map.of(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "CreateTime")),
                  // Kafka Streams keeps an existing changelog's settings: these make the log
                  // cleaner compact at once.
                  new NewTopic(config.rollupsTopic(), 1, (short) 1)
                      .configs(
                          Map.of(
                              TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                              TopicConfig.SEGMENT_MS_CONFIG, "100",
                              TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "0.001",
                              TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "0",
                              TopicConfig.DELETE_RETENTION_MS_CONFIG, "100"))))
          .all()
          .get(30, TimeUnit.SECONDS);
      PipelineTopics.ensure(
          admin, List.of(config.distinctEventsTopic(), config.deadLetterTopic()), 1, 30_000);

      KafkaStreams streams =
          new KafkaStreams(
              UsageTopology.build(
                  config.topics(),
                  config.dedupWindow(),
                  config.rollupCacheGroups(config.eventsPartitions()),
                  UsageStreamApp.closing(config, admin),
                  UsageEventSerde.deserializer(registry),
                  new LongAdder()),
              UsageStreamApp.streamsProperties(config, config.eventsPartitions()));
      ClickHouseWriter[] writer = {
        UsageStreamApp.writer(config, clickHouse, new SimpleMeterRegistry())
      };
      streams.start();
      writer[0].start();
      try {
        send(producer, config, first, before);
        await("the first event in usage_daily", () -> requests(clickHouse, group) == 1);

        Infra.localClickHouse().stop();
        try {
          send(producer, config, late, before);
          await(
              "the late update in the changelog",
              () -> versions(config, changelog, group).contains(2L));
          // The writer restarts during the outage (a crash, its supervisor): what it has not
          // committed it must read
          // from the changelog again.
          writer[0].close();
          // A record of now moves stream time: the day closes.
          int filler = 0;
          sendNow(producer, config, "filler-" + filler++, now);
          await("the day closed", () -> firstOpenDay(streams) > day.toEpochDay());
          // The closing steps have read the changelog's end when their probe is there; a step that
          // did not wait for
          // the writer would write the group's tombstone next.
          String probe = new String(DayCloser.PROBE.get(), java.nio.charset.StandardCharsets.UTF_8);
          await(
              "the probe of closing days", () -> versions(config, changelog, probe).contains(null));
          String fillers = GroupKey.of(Events.event("acme", "filler", now.toString(), "f", "1"));
          long fillersBefore =
              versions(config, changelog, fillers).stream()
                  .mapToLong(Long::longValue)
                  .max()
                  .orElse(0);

          // More records roll the changelog's segments, until the log cleaner compacted away a
          // record written a few
          // seconds after the probe: the cleaned range then held whatever the closing steps wrote.
          long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
          while (versions(config, changelog, fillers).get(0) <= fillersBefore + 5) {
            if (System.nanoTime() > deadline) {
              throw new AssertionError(
                  "the log cleaner did not compact " + changelog + " in 240 s");
            }
            sendNow(producer, config, "filler-" + filler++, now);
            Thread.sleep(500);
          }
          assertEquals(
              List.of(2L),
              versions(config, changelog, group),
              "compacted: only the late update is left, no tombstone while the writer has not read it");
        } finally {
          writer[0] = UsageStreamApp.writer(config, clickHouse, new SimpleMeterRegistry());
          writer[0].start();
          Infra.localClickHouse().start();
        }

        await("the late update in usage_daily", () -> requests(clickHouse, group) == 2);
        JsonNode row =
            clickHouse
                .query(
                    "SELECT toString(sum(usage)) AS usage FROM usage_daily FINAL WHERE user_id = "
                        + SqlLiteral.string("g"))
                .get(0);
        assertEquals(
            0,
            new BigDecimal("1.250000000007").compareTo(new BigDecimal(row.get("usage").asText())),
            row.toString());
        // Once the writer has read it, the closed group leaves the store: a tombstone follows.
        await(
            "the closed group's tombstone",
            () -> versions(config, changelog, group).contains(null));
      } finally {
        writer[0].close();
        streams.close(Duration.ofSeconds(60));
        clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(name));
      }
    }
  }

  private static void send(
      KafkaProducer<String, UsageEvent> producer,
      StreamConfig config,
      UsageEvent event,
      Instant timestamp)
      throws Exception {
    producer
        .send(
            new ProducerRecord<>(
                config.eventsTopic(),
                null,
                timestamp.toEpochMilli(),
                event.getAccountId() + "/" + event.getEventId(),
                event))
        .get(60, TimeUnit.SECONDS);
  }

  /**
   * An event of the filler group, sent now: the changelog rolls a segment when a record is newer
   * than the segment's first by segment.ms.
   */
  private static void sendNow(
      KafkaProducer<String, UsageEvent> producer, StreamConfig config, String id, Instant createdAt)
      throws Exception {
    send(producer, config, Events.event("acme", id, createdAt.toString(), "f", "1"), Instant.now());
  }

  /** The group's requests in usage_daily, 0 while ClickHouse does not answer. */
  private static long requests(ClickHouse clickHouse, String group) {
    try {
      List<JsonNode> rows =
          clickHouse.query(
              "SELECT sum(requests) AS n FROM usage_daily FINAL WHERE user_id = "
                  + SqlLiteral.string(UsageDailyRow.of(group, null).userId()));
      return rows.isEmpty() ? 0 : rows.get(0).get("n").asLong();
    } catch (RuntimeException e) {
      return 0;
    }
  }

  private static long firstOpenDay(KafkaStreams streams) {
    try {
      ReadOnlyKeyValueStore<String, Long> closed =
          streams.store(
              StoreQueryParameters.fromNameAndType(
                  UsageTopology.CLOSED_STORE, QueryableStoreTypes.<String, Long>keyValueStore()));
      Long first = closed.get(DayCloser.FIRST_OPEN);
      return first == null ? Long.MIN_VALUE : first;
    } catch (RuntimeException e) {
      return Long.MIN_VALUE; // not queryable while the task is being restored or rebalanced
    }
  }

  /** The versions of a key's committed records in the changelog, in order; null for a tombstone. */
  private static List<Long> versions(StreamConfig config, TopicPartition partition, String group) {
    Properties props = new Properties();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("isolation.level", "read_committed");
    List<Long> versions = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long end = consumer.endOffsets(List.of(partition)).get(partition);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (consumer.position(partition) < end && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.key().equals(group)) {
            versions.add(r.value() == null ? null : GroupTotals.fromBytes(r.value()).version());
          }
        }
      }
    }
    return versions;
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 240 s: " + what);
      }
      Thread.sleep(200);
    }
  }
}
