package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Backend;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once when things break, on the real broker, registry and ClickHouse: the stream application is killed
 * with SIGKILL and restarted, ClickHouse is stopped and started, the broker is restarted, every event arrives at
 * least three times (some copies days later in event time), and two instances share the work. Every time the
 * rollups and the raw table equal totals computed independently from the events sent, and reconcile passes.
 */
class StreamFailureIntegrationTest {

  private static final String[] ACCOUNTS = {"acme", "beta.corp:eu-1", "gamma"};

  @Test
  void killRestartOutageAndDuplicateStormLeaveExactTotals(@TempDir Path dir) throws Exception {
    assumeTrue(Infra.backend() == Backend.LOCAL, "restarting servers in place needs the local backend");
    Setup s = new Setup(dir, 4);
    List<UsageEvent> events = events(3000, new Random(11));
    List<Process> children = new ArrayList<>();
    KafkaProducer<String, UsageEvent> producer = s.producer();
    try (ClickHouse clickHouse = s.clickHouse()) {
      s.send(producer, events.subList(0, 1000));
      s.send(producer, events.subList(0, 200));
      children.add(s.startChild(dir.resolve("stream-1.log")));
      awaitAtLeast(clickHouse, 1, children.get(0), dir.resolve("stream-1.log"));

      // SIGKILL in the middle of a run: no clean shutdown, no last commit.
      s.send(producer, events.subList(1000, 1500));
      children.get(0).destroyForcibly().waitFor();
      children.add(s.startChild(dir.resolve("stream-2.log")));

      // ClickHouse goes away for a while; the writer keeps its backlog in Kafka and catches up.
      Infra.localClickHouse().stop();
      s.send(producer, events.subList(1500, 2200));
      Thread.sleep(3000);
      Infra.localClickHouse().start();

      // The broker restarts under the running application. The test's own producer is replaced: what is under test
      // is the application, not how a client's idempotence state survives a broker restart.
      producer.close();
      Infra.localKafka().restart();
      producer = s.producer();
      s.send(producer, events.subList(2200, 3000));
      // The duplicate storm: every event twice more, long after stream time moved past its day.
      s.send(producer, events);
      s.send(producer, events);

      awaitExact(clickHouse, events, children.get(1), dir.resolve("stream-2.log"));
      assertReconciles(clickHouse);
      runAnalystExamples(clickHouse);
    } finally {
      producer.close();
      children.forEach(Process::destroyForcibly);
    }
  }

  @Test
  void twoInstancesProduceTheSameTotalsAsOne(@TempDir Path dir) throws Exception {
    Setup s = new Setup(dir, 4);
    List<UsageEvent> events = events(1200, new Random(12));
    try (ClickHouse clickHouse = s.clickHouse(); KafkaProducer<String, UsageEvent> producer = s.producer()) {
      UsageStreamApp first = UsageStreamApp.start(s.config("a"));
      UsageStreamApp second = UsageStreamApp.start(s.config("b"));
      try {
        s.send(producer, events);
        List<String> poisonKeys = s.sendPoison(3);
        s.send(producer, events.subList(0, 600));
        awaitExact(clickHouse, events, null, null);
        assertReconciles(clickHouse);
        // The poison records are in the dead-letter topic, with their reason, and changed no total (awaitExact).
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> dead = s.readDeadLetters(poisonKeys.size());
        assertEquals(poisonKeys, dead.stream().map(r -> r.key()).sorted().toList());
        assertTrue(dead.stream().allMatch(r -> r.headers().lastHeader(UsageTopology.Decode.REASON) != null));
      } finally {
        first.close();
        second.close();
      }
    }
  }

  /** Names, environment and clients of one test: its own topics, application id and ClickHouse database. */
  private static final class Setup {
    final String name = "sf_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    final Map<String, String> env = Infra.serviceEnvironment();
    final Path dir;

    Setup(Path dir, int partitions) {
      this.dir = dir;
      env.put("CLICKHOUSE_DATABASE", name);
      env.put("EVENTS_TOPIC", name + "-events");
      env.put("EVENTS_PARTITIONS", String.valueOf(partitions));
      env.put("APPLICATION_ID", name);
      env.put("COMMIT_INTERVAL_MS", "100");
      // Far fewer than the events' groups, so the rollup cache evicts all through the kills and restarts.
      env.put("ROLLUP_CACHE_GROUPS", "16");
      env.put("HTTP_PORT", "0");
      env.put("STATE_DIR", dir.resolve("state").toString());
    }

    StreamConfig config(String instance) {
      Map<String, String> own = new java.util.HashMap<>(env);
      own.put("STATE_DIR", dir.resolve("state-" + instance).toString());
      return StreamConfig.fromEnv(own);
    }

    Process startChild(Path log) throws IOException {
      ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), UsageStreamApp.class.getName())
          .redirectErrorStream(true).redirectOutput(log.toFile());
      builder.environment().putAll(env);
      return builder.start();
    }

    ClickHouse clickHouse() {
      ClickHouseEndpoint ch = Infra.clickhouse();
      return new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name));
    }

    KafkaProducer<String, UsageEvent> producer() {
      Properties props = new Properties();
      props.put("bootstrap.servers", Infra.kafka().bootstrapServers());
      props.put("acks", "all");
      // Not idempotent: a producer created right after the broker restart was once handed a producer id the
      // partition already knew, and every send failed with OutOfOrderSequenceException until it timed out. A retry's
      // copy is what the application must absorb anyway (the test sends every event three times).
      props.put("enable.idempotence", "false");
      props.put("linger.ms", "5");
      SchemaRegistryClient registry = new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
      return new KafkaProducer<>(props, new StringSerializer(), UsageEventSerde.serializer(registry));
    }

    /** Records no reader can decode, on the events topic; returns their keys, sorted. */
    List<String> sendPoison(int count) throws Exception {
      Properties props = new Properties();
      props.put("bootstrap.servers", Infra.kafka().bootstrapServers());
      props.put("acks", "all");
      List<String> keys = new ArrayList<>();
      try (KafkaProducer<String, byte[]> raw = new KafkaProducer<>(props, new StringSerializer(),
          new org.apache.kafka.common.serialization.ByteArraySerializer())) {
        for (int i = 0; i < count; i++) {
          keys.add("poison-" + i);
          raw.send(new ProducerRecord<>(env.get("EVENTS_TOPIC"), "poison-" + i, new byte[] {9, 9, 9, (byte) i})).get();
        }
      }
      return keys;
    }

    List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> readDeadLetters(int expected) {
      Map<String, Object> props = Map.of("bootstrap.servers", Infra.kafka().bootstrapServers(),
          "group.id", "dlq-reader-" + UUID.randomUUID(), "auto.offset.reset", "earliest",
          "isolation.level", "read_committed");
      List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> out = new ArrayList<>();
      try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(props,
          new org.apache.kafka.common.serialization.StringDeserializer(),
          new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
        consumer.subscribe(List.of(env.get("EVENTS_TOPIC") + "-dlq"));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (out.size() < expected && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        }
      }
      return out;
    }

    void send(KafkaProducer<String, UsageEvent> producer, List<UsageEvent> events) throws Exception {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (UsageEvent e : events) {
        acks.add(producer.send(new ProducerRecord<>(env.get("EVENTS_TOPIC"), null, e.getCreatedAt().toEpochMilli(),
            e.getAccountId() + "/" + e.getEventId(), e)));
      }
      for (java.util.concurrent.Future<?> ack : acks) {
        ack.get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  /** Distinct events over the last 30 days, in event-time order, with exact random money. */
  static List<UsageEvent> events(int count, Random random) {
    Instant start = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(30, ChronoUnit.DAYS);
    long span = Duration.ofDays(30).toMillis();
    List<UsageEvent> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Instant at = start.plusMillis(span * i / count + random.nextInt(1000));
      String cost = new BigDecimal(random.nextInt(1_000_000_000)).movePointLeft(12)
          .add(BigDecimal.valueOf(random.nextInt(3))).toPlainString();
      UsageEvent e = Events.event(ACCOUNTS[random.nextInt(ACCOUNTS.length)], "ev-" + i, at.toString(),
          random.nextInt(4) == 0 ? null : "user-" + random.nextInt(7), cost);
      if (random.nextInt(6) == 0) {
        e.setIsByok(true);
        e.setByokCost(new BigDecimal("0.000043022187"));
      }
      if (random.nextBoolean()) {
        e.setApiKeyHash(Events.KEY_B);
      }
      events.add(e);
    }
    return events;
  }

  private static long scalar(ClickHouse clickHouse, String sql) {
    List<JsonNode> rows = clickHouse.query(sql);
    return rows.isEmpty() ? 0 : rows.get(0).get("n").asLong();
  }

  private static void awaitAtLeast(ClickHouse clickHouse, long requests, Process child, Path log) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (System.nanoTime() < deadline) {
      if (!child.isAlive()) {
        throw new AssertionError("usage-stream died:\n" + tail(log));
      }
      try {
        if (tableExists(clickHouse) && scalar(clickHouse, "SELECT sum(requests) AS n FROM usage_daily") >= requests) {
          return;
        }
      } catch (RuntimeException e) {
        // the application has not created its database yet
      }
      Thread.sleep(200);
    }
    throw new AssertionError("nothing reached ClickHouse in 120 s; the writer's committed/end offsets of the raw"
        + " topic: " + writerPositions(clickHouse.database()) + "; end of the usage-stream log:\n" + tail(log));
  }

  private static boolean tableExists(ClickHouse clickHouse) {
    return scalar(clickHouse, "SELECT count() AS n FROM system.tables WHERE database = currentDatabase()"
        + " AND name = 'usage_daily'") > 0;
  }

  /** Waits until both tables count every distinct event once, then compares every total per account. */
  private static void awaitExact(ClickHouse clickHouse, List<UsageEvent> events, Process child, Path log)
      throws Exception {
    long expected = events.size();
    long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
    long rollup = -1;
    long raw = -1;
    while (System.nanoTime() < deadline) {
      if (child != null && !child.isAlive()) {
        throw new AssertionError("usage-stream died:\n" + Files.readString(log));
      }
      try {
        rollup = scalar(clickHouse, "SELECT sum(requests) AS n FROM usage_daily FINAL");
        raw = scalar(clickHouse, "SELECT count() AS n FROM usage_events FINAL");
      } catch (RuntimeException e) {
        Thread.sleep(200); // ClickHouse may still be coming back
        continue;
      }
      assertTrue(rollup <= expected, "rollups counted " + rollup + " of " + expected + " distinct events");
      if (rollup == expected && raw == expected) {
        break;
      }
      Thread.sleep(250);
    }
    if (rollup != expected || raw != expected) {
      throw new AssertionError("usage_daily counts " + rollup + ", usage_events " + raw + ", expected " + expected
          + "; missing from usage_events: " + missingRawEvents(clickHouse, events)
          + "; the writer's committed/end offsets of the raw topic: " + writerPositions(clickHouse.database())
          + "; end of the usage-stream log:\n" + tail(log));
    }
    for (String account : ACCOUNTS) {
      List<UsageEvent> mine = events.stream().filter(e -> e.getAccountId().equals(account)).toList();
      BigDecimal cost = mine.stream().map(UsageEvent::getCost).reduce(BigDecimal.ZERO, BigDecimal::add);
      BigDecimal byok = mine.stream().map(UsageEvent::getByokCost).reduce(BigDecimal.ZERO, BigDecimal::add);
      long byokRequests = mine.stream().filter(UsageEvent::getIsByok).count();
      JsonNode row = clickHouse.query("SELECT sum(requests) AS n, toString(sum(usage)) AS money,"
          + " toString(sum(byok_usage_inference)) AS byok_money, sum(byok_requests) AS byok_n,"
          + " sum(completion_tokens) AS c FROM usage_daily FINAL WHERE account_id = '" + account + "'").get(0);
      assertEquals(mine.size(), row.get("n").asLong(), account);
      assertEquals(0, cost.compareTo(new BigDecimal(row.get("money").asText())), account + " cost " + row);
      assertEquals(0, byok.compareTo(new BigDecimal(row.get("byok_money").asText())), account + " byok " + row);
      assertEquals(byokRequests, row.get("byok_n").asLong(), account);
      assertEquals(20L * mine.size(), row.get("c").asLong(), account);
      JsonNode rawRow = clickHouse.query("SELECT toString(sum(cost)) AS money, count() AS n FROM usage_events FINAL"
          + " WHERE account_id = '" + account + "'").get(0);
      assertEquals(0, cost.compareTo(new BigDecimal(rawRow.get("money").asText())), account + " raw cost");
    }
  }

  /**
   * Per partition of the distinct-events topic: the writer group's committed offset, the last stable offset (what
   * read_committed can read) and the log end.
   */
  private static String writerPositions(String app) {
    String topic = app + "-events-distinct";
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
        Map.of("bootstrap.servers", Infra.kafka().bootstrapServers()))) {
      var committed = admin.listConsumerGroupOffsets(app + "-clickhouse-writer").partitionsToOffsetAndMetadata()
          .get(10, java.util.concurrent.TimeUnit.SECONDS);
      Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
      committed.keySet().stream().filter(tp -> tp.topic().equals(topic))
          .forEach(tp -> latest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()));
      var ends = admin.listOffsets(latest, new org.apache.kafka.clients.admin.ListOffsetsOptions(
          org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all().get(10, java.util.concurrent.TimeUnit.SECONDS);
      var uncommittedEnds = admin.listOffsets(latest, new org.apache.kafka.clients.admin.ListOffsetsOptions(
          org.apache.kafka.common.IsolationLevel.READ_UNCOMMITTED)).all().get(10, java.util.concurrent.TimeUnit.SECONDS);
      StringBuilder out = new StringBuilder();
      latest.keySet().stream().sorted(java.util.Comparator.comparingInt(org.apache.kafka.common.TopicPartition::partition))
          .forEach(tp -> out.append(tp.partition()).append('=').append(committed.get(tp).offset()).append('/')
              .append(ends.get(tp).offset()).append('/').append(uncommittedEnds.get(tp).offset()).append(' '));
      return out.toString();
    } catch (Exception e) {
      return "unknown (" + e + ")";
    }
  }

  /** The events sent that usage_events lacks (at most 30), with their created_at, to tell a pattern. */
  private static List<String> missingRawEvents(ClickHouse clickHouse, List<UsageEvent> events) {
    java.util.Set<String> present = new java.util.HashSet<>();
    clickHouse.query("SELECT DISTINCT event_id FROM usage_events").forEach(r -> present.add(r.get("event_id").asText()));
    return events.stream().filter(e -> !present.contains(e.getEventId()))
        .map(e -> e.getEventId() + "@" + e.getCreatedAt()).limit(30).toList();
  }

  private static String tail(Path log) throws IOException {
    if (log == null) {
      return "(in-process instances)";
    }
    List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.startsWith("\tat ")).toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  private static void assertReconciles(ClickHouse clickHouse) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    int code = Reconcile.run(clickHouse, today.minusDays(40), today, new PrintStream(out, true, StandardCharsets.UTF_8));
    assertEquals(0, code, out.toString(StandardCharsets.UTF_8));
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("reconciled:"));
  }

  /** Every ```sql example of the module README runs and returns rows. */
  static void runAnalystExamples(ClickHouse clickHouse) throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    Matcher m = Pattern.compile("```sql\\n(.*?)```", Pattern.DOTALL).matcher(readme);
    int examples = 0;
    while (m.find()) {
      String sql = m.group(1).trim();
      assertFalse(clickHouse.query(sql.endsWith(";") ? sql.substring(0, sql.length() - 1) : sql).isEmpty(),
          "no rows from the README example:\n" + sql);
      examples++;
    }
    assertTrue(examples >= 3, "the README holds the analysts' examples");
  }
}
