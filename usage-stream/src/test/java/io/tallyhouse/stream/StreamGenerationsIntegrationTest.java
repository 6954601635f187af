package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.reconcile.Reconcile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new APPLICATION_ID against the same ClickHouse, on the real broker, registry and ClickHouse:
 * without a setting it refuses to start and says how to proceed; with CONTINUE_FROM_APPLICATION_ID
 * it reads on where the old application stopped, its writer finishes what the old writer had not
 * written, and its counts of the groups the old application counted add to the old rows instead of
 * hiding behind their higher versions.
 */
class StreamGenerationsIntegrationTest {

  private static final String[] ACCOUNTS = {"acme", "beta", "gamma"};

  @Test
  void aNewApplicationIdTakesOverWithoutLosingOrRecountingAnything(@TempDir Path dir)
      throws Exception {
    String name = StreamTestEnv.newName("gn");
    Map<String, String> env = StreamTestEnv.environment(name);
    env.put("COMMIT_INTERVAL_MS", "100");
    String first = name + "-a";
    String second = name + "-b";
    StreamConfig a = config(env, dir, first, Map.of());
    Migrations.apply(a.clickHouse());
    // Few groups, so that the second application counts more events into groups the first one
    // counted.
    Random random = new Random(7);
    List<UsageEvent> before = events("a", 90, random, ACCOUNTS);
    List<UsageEvent> unwritten = events("m", 30, random, ACCOUNTS);
    List<UsageEvent> after = new ArrayList<>(events("b", 90, random, ACCOUNTS));
    after.addAll(events("c", 20, random, "delta"));
    List<UsageEvent> all = new ArrayList<>(before);
    all.addAll(unwritten);
    all.addAll(after);

    try (ClickHouse clickHouse = new ClickHouse(a.clickHouse());
        KafkaProducer<String, UsageEvent> producer = producer()) {
      UsageStreamApp app = UsageStreamApp.start(a);
      try {
        send(producer, a, before);
        send(producer, a, before.subList(0, 30));
        awaitExact(clickHouse, before);
      } finally {
        app.close();
      }
      // The first application stops while its writer holds rollups it has not written: the second
      // one's writer must
      // finish them, into the first one's shards.
      app =
          UsageStreamApp.start(
              config(
                  env,
                  dir,
                  first,
                  Map.of("WRITER_MAX_WAIT_MS", "3600000", "WRITER_BATCH_ROWS", "1000000")));
      try {
        send(producer, a, unwritten);
        awaitStreamCommitted(first, a.eventsTopic());
      } finally {
        app.close();
      }
      assertEquals(
          before.size(),
          StreamTestEnv.countedRequests(clickHouse),
          "the first application's writer wrote none of the last events");

      IllegalStateException refused =
          assertThrows(
              IllegalStateException.class,
              () -> UsageStreamApp.start(config(env, dir, second, Map.of())).close());
      assertTrue(
          refused.getMessage().contains("CONTINUE_FROM_APPLICATION_ID=" + first),
          refused.getMessage());
      assertTrue(refused.getMessage().contains("NEW_GENERATION_AFTER="), refused.getMessage());
      assertEquals(Map.of(), committedOffsets(second), "the refused application read nothing");

      app =
          UsageStreamApp.start(
              config(env, dir, second, Map.of("CONTINUE_FROM_APPLICATION_ID", first)));
      try {
        send(producer, a, after);
        send(producer, a, after.subList(0, 40));
        awaitExact(clickHouse, all);
      } finally {
        app.close();
      }

      List<JsonNode> generations =
          clickHouse.query(
              "SELECT application_id, shard_base, partitions"
                  + " FROM stream_generations ORDER BY shard_base");
      assertEquals(
          List.of(first + " 0 3", second + " 3 3"),
          generations.stream()
              .map(
                  g ->
                      g.get("application_id").asText()
                          + " "
                          + g.get("shard_base").asText()
                          + " "
                          + g.get("partitions").asText())
              .toList());
      long newRowsInOldGroups =
          clickHouse
              .query(
                  "SELECT count() AS n FROM usage_daily FINAL WHERE shard >= 3"
                      + " AND account_id != 'delta'")
              .get(0)
              .get("n")
              .asLong();
      assertTrue(
          newRowsInOldGroups > 0,
          "the second application counted events of the first one's groups");

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      LocalDate today = LocalDate.now(ZoneOffset.UTC);
      int code =
          Reconcile.run(
              clickHouse,
              today.minusDays(10),
              today,
              new PrintStream(out, true, StandardCharsets.UTF_8));
      assertEquals(0, code, out.toString(StandardCharsets.UTF_8));
    }
  }

  private static StreamConfig config(
      Map<String, String> env, Path dir, String applicationId, Map<String, String> extra) {
    Map<String, String> own = new HashMap<>(env);
    own.put("APPLICATION_ID", applicationId);
    own.put("STATE_DIR", dir.resolve(applicationId).toString());
    own.putAll(extra);
    return ServiceMain.read(own, StreamConfig::read);
  }

  /**
   * Distinct events of the last three days in a handful of groups per account, with exact random
   * money.
   */
  private static List<UsageEvent> events(
      String prefix, int count, Random random, String... accounts) {
    Instant start = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(3, ChronoUnit.DAYS);
    List<UsageEvent> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String cost =
          new BigDecimal(random.nextInt(1_000_000_000))
              .movePointLeft(12)
              .add(BigDecimal.valueOf(random.nextInt(3)))
              .toPlainString();
      UsageEvent e =
          Events.event(
              accounts[random.nextInt(accounts.length)],
              prefix + "-" + i,
              start
                  .plus(random.nextInt(3), ChronoUnit.DAYS)
                  .plusSeconds(random.nextInt(80_000))
                  .toString(),
              random.nextBoolean() ? null : "user-1",
              cost);
      if (random.nextInt(5) == 0) {
        e.setIsByok(true);
        e.setByokCost(new BigDecimal("0.000043022187"));
      }
      events.add(e);
    }
    return events;
  }

  private static KafkaProducer<String, UsageEvent> producer() {
    Properties props = new Properties();
    props.put("bootstrap.servers", Infra.kafka().bootstrapServers());
    props.put("acks", "all");
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    return new KafkaProducer<>(props, new StringSerializer(), UsageEventSerde.serializer(registry));
  }

  private static void send(
      KafkaProducer<String, UsageEvent> producer, StreamConfig config, List<UsageEvent> events)
      throws Exception {
    List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
    for (UsageEvent e : events) {
      acks.add(
          producer.send(
              new ProducerRecord<>(
                  config.eventsTopic(),
                  null,
                  e.getCreatedAt().toEpochMilli(),
                  e.getAccountId() + "/" + e.getEventId(),
                  e)));
    }
    for (java.util.concurrent.Future<?> ack : acks) {
      ack.get(60, TimeUnit.SECONDS);
    }
  }

  /**
   * Waits until the stream application's group has committed offsets up to the end of every
   * partition of topic.
   */
  private static void awaitStreamCommitted(String group, String topic) throws Exception {
    try (Admin admin =
        Admin.create(Map.of("bootstrap.servers", Infra.kafka().bootstrapServers()))) {
      Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
      admin
          .describeTopics(List.of(topic))
          .allTopicNames()
          .get(30, TimeUnit.SECONDS)
          .get(topic)
          .partitions()
          .forEach(
              p -> partitions.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin
          .listOffsets(partitions)
          .all()
          .get(30, TimeUnit.SECONDS)
          .forEach((p, info) -> ends.put(p, info.offset()));
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      Map<TopicPartition, Long> committed = Map.of();
      while (System.nanoTime() < deadline) {
        committed = new HashMap<>();
        for (var e :
            admin
                .listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get(30, TimeUnit.SECONDS)
                .entrySet()) {
          committed.put(e.getKey(), e.getValue().offset());
        }
        if (committed.entrySet().containsAll(ends.entrySet())) {
          return;
        }
        Thread.sleep(250);
      }
      assertEquals(ends, committed, "offsets of " + topic + " committed by " + group);
    }
  }

  private static Map<?, ?> committedOffsets(String group) throws Exception {
    try (Admin admin =
        Admin.create(Map.of("bootstrap.servers", Infra.kafka().bootstrapServers()))) {
      return admin
          .listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata()
          .get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Waits until usage_daily (FINAL, summed over shards) counts every distinct event once, then
   * compares every total per account with the events' own sums.
   */
  private static void awaitExact(ClickHouse clickHouse, List<UsageEvent> events)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
    long counted = -1;
    while (System.nanoTime() < deadline) {
      try {
        counted = StreamTestEnv.countedRequests(clickHouse);
      } catch (RuntimeException e) {
        counted = -1; // the writer has not created the tables yet
      }
      assertTrue(
          counted <= events.size(),
          "counted " + counted + " of " + events.size() + " distinct events");
      if (counted == events.size()) {
        break;
      }
      Thread.sleep(250);
    }
    assertEquals(events.size(), counted, "requests in usage_daily");
    for (String account : List.of("acme", "beta", "gamma", "delta")) {
      List<UsageEvent> mine =
          events.stream().filter(e -> e.getAccountId().equals(account)).toList();
      JsonNode row =
          clickHouse
              .query(
                  "SELECT sum(requests) AS n, toString(sum(usage)) AS money,"
                      + " toString(sum(byok_usage_inference)) AS byok_money, sum(byok_requests) AS byok_n,"
                      + " sum(prompt_tokens) AS p FROM usage_daily FINAL WHERE account_id = '"
                      + account
                      + "'")
              .get(0);
      assertEquals(mine.size(), row.get("n").asLong(), account);
      if (mine.isEmpty()) {
        continue;
      }
      BigDecimal cost =
          mine.stream().map(UsageEvent::getCost).reduce(BigDecimal.ZERO, BigDecimal::add);
      BigDecimal byok =
          mine.stream().map(UsageEvent::getByokCost).reduce(BigDecimal.ZERO, BigDecimal::add);
      assertEquals(
          0, cost.compareTo(new BigDecimal(row.get("money").asText())), account + " cost " + row);
      assertEquals(
          0,
          byok.compareTo(new BigDecimal(row.get("byok_money").asText())),
          account + " byok " + row);
      assertEquals(
          mine.stream().filter(UsageEvent::getIsByok).count(), row.get("byok_n").asLong(), account);
      assertEquals(10L * mine.size(), row.get("p").asLong(), account);
    }
  }
}
