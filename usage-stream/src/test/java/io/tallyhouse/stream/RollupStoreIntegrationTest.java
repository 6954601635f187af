package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.stream.maintenance.DayCloser;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.topology.UsageTopology;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rollup store's cache under real Kafka Streams transactions: a group changed many times
 * between two commits reaches the changelog once, with its complete totals, when the transaction
 * commits (Kafka Streams flushes the cache before committing, which is what exactly once rests on),
 * and the totals carry on across a restart. The crash case is StreamFailureIntegrationTest's
 * SIGKILL, run with a cache smaller than its groups.
 */
class RollupStoreIntegrationTest {

  private static final int GROUPS = 10;

  @Test
  void eachChangedGroupReachesTheChangelogOncePerCommitWithExactTotals(@TempDir Path dir)
      throws Exception {
    String name = "rs_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<String, String> env = Infra.serviceEnvironment();
    env.put("APPLICATION_ID", name);
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("STATE_DIR", dir.toString());
    // Within the transaction timeout (30 s, UsageStreamApp); the events are all in the topic before
    // the application
    // starts and the clean close commits, so no commit falls between them even when a starved
    // machine takes many
    // seconds over the first records (5 s did not suffice). A cache of 3 groups for 10 is over its
    // limit at the commit.
    env.put("COMMIT_INTERVAL_MS", "25000");
    env.put("ROLLUP_CACHE_GROUPS", "3");
    StreamConfig config = ServiceMain.read(env, StreamConfig::read);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", config.bootstrapServers()))) {
      PipelineTopics.ensure(
          admin,
          List.of(config.eventsTopic(), config.distinctEventsTopic(), config.deadLetterTopic()),
          1,
          30_000);
    }

    // Five rounds over ten groups, then one more event per group after a restart.
    List<UsageEvent> first = new ArrayList<>();
    for (int round = 0; round < 5; round++) {
      for (int g = 0; g < GROUPS; g++) {
        first.add(
            Events.event(
                "acme",
                "r" + round + "-g" + g,
                "2026-11-20T10:00:00Z",
                "user-" + g,
                "0." + (round + 1) + g + "0000000007"));
      }
    }
    List<UsageEvent> second = new ArrayList<>();
    for (int g = 0; g < GROUPS; g++) {
      second.add(Events.event("acme", "r5-g" + g, "2026-11-20T11:00:00Z", "user-" + g, "12.5"));
    }

    runUntilConsumed(config, first, first.size());
    List<ConsumerRecord<String, byte[]>> afterFirst = committedRollups(config, GROUPS);
    assertEquals(GROUPS, afterFirst.size(), "one record per changed group for the one commit");
    assertEquals(expected(first), latest(afterFirst));

    runUntilConsumed(config, second, first.size() + second.size());
    List<ConsumerRecord<String, byte[]>> all = committedRollups(config, 2 * GROUPS);
    assertEquals(2 * GROUPS, all.size());
    List<UsageEvent> everything = new ArrayList<>(first);
    everything.addAll(second);
    assertEquals(expected(everything), latest(all));
  }

  /**
   * Sends {@code events}, runs the topology until the distinct events topic holds {@code distinct}
   * records, closes it cleanly.
   */
  private static void runUntilConsumed(StreamConfig config, List<UsageEvent> events, int distinct)
      throws Exception {
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    Properties props = new Properties();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("acks", "all");
    try (KafkaProducer<String, UsageEvent> producer =
        new KafkaProducer<>(props, new StringSerializer(), UsageEventSerde.serializer(registry))) {
      for (UsageEvent e : events) {
        producer
            .send(
                new ProducerRecord<>(
                    config.eventsTopic(), e.getAccountId() + "/" + e.getEventId(), e))
            .get();
      }
    }
    Admin admin = Admin.create(Map.of("bootstrap.servers", config.bootstrapServers()));
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
    streams.start();
    try {
      // Processed, and committed or not: an uncommitted read sees the raw records of an open
      // transaction too.
      read(config, config.distinctEventsTopic(), "read_uncommitted", distinct);
    } finally {
      // A clean close commits what is open, flushing the cache first.
      streams.close(Duration.ofSeconds(60));
      admin.close();
    }
  }

  private static List<ConsumerRecord<String, byte[]>> committedRollups(
      StreamConfig config, int count) {
    return read(config, config.rollupsTopic(), "read_committed", count);
  }

  /**
   * Reads a topic from its beginning until {@code count} records arrived, then a little longer to
   * see any extra.
   */
  private static List<ConsumerRecord<String, byte[]>> read(
      StreamConfig config, String topic, String isolation, int count) {
    Properties props = new Properties();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("isolation.level", isolation);
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<org.apache.kafka.common.TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
      long deadline = System.nanoTime() + Await.STALL.toNanos();
      long settle = 0;
      while (System.nanoTime() < deadline
          && (records.size() < count || System.nanoTime() < settle)) {
        // Closing days may write its probe, a tombstone of no group, to the changelog.
        consumer
            .poll(Duration.ofMillis(200))
            .forEach(
                r -> {
                  if (!Bytes.wrap(r.key().getBytes(StandardCharsets.UTF_8))
                      .equals(DayCloser.PROBE)) {
                    records.add(r);
                  }
                });
        if (records.size() >= count && settle == 0) {
          settle = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        }
      }
      return records;
    }
  }

  private static Map<String, GroupTotals> latest(List<ConsumerRecord<String, byte[]>> records) {
    Map<String, GroupTotals> latest = new HashMap<>();
    records.forEach(r -> latest.put(r.key(), GroupTotals.fromBytes(r.value())));
    return latest;
  }

  private static Map<String, GroupTotals> expected(List<UsageEvent> events) {
    Map<String, List<UsageEvent>> byGroup = new HashMap<>();
    events.forEach(e -> byGroup.computeIfAbsent(GroupKey.of(e), k -> new ArrayList<>()).add(e));
    Map<String, GroupTotals> expected = new HashMap<>();
    byGroup.forEach(
        (group, mine) -> expected.put(group, Events.totals(mine.toArray(UsageEvent[]::new))));
    return expected;
  }
}
