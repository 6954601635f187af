package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.stream.topology.Decode;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Backend;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.ConsumerGroups;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.reconcile.Reconcile;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once when things break, on the real broker, registry and ClickHouse: the stream
 * application is killed with SIGKILL and restarted, ClickHouse is stopped and started, the broker
 * is restarted, every event arrives at least three times (some copies days later in event time),
 * and two instances share the work. Every time the rollups and the raw table equal totals computed
 * independently from the events sent, and reconcile passes.
 */
class StreamFailureIntegrationTest {

  private static final String[] ACCOUNTS = {"acme", "beta.corp:eu-1", "gamma"};

  @Test
  void killRestartOutageAndDuplicateStormLeaveExactTotals(@TempDir Path dir) throws Exception {
    assumeTrue(
        Infra.backend() == Backend.LOCAL, "restarting servers in place needs the local backend");
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

      // ClickHouse goes away until the stream has counted what was sent meanwhile; the writer keeps
      // that backlog in
      // Kafka and catches up.
      Infra.localClickHouse().stop();
      s.send(producer, events.subList(1500, 2200));
      awaitStreamCaughtUp(s.name, children.get(1), dir.resolve("stream-2.log"));
      Infra.localClickHouse().start();

      // The broker restarts under the running application. The test's own producer is replaced:
      // what is under test
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
    try (ClickHouse clickHouse = s.clickHouse();
        KafkaProducer<String, UsageEvent> producer = s.producer()) {
      UsageStreamApp first = UsageStreamApp.start(s.config("a"));
      UsageStreamApp second = UsageStreamApp.start(s.config("b"));
      try {
        s.send(producer, events);
        List<String> poisonKeys = s.sendPoison(3);
        s.send(producer, events.subList(0, 600));
        awaitExact(clickHouse, events, null, null);
        assertReconciles(clickHouse);
        // The poison records are in the dead-letter topic, with their reason, and changed no total
        // (awaitExact).
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> dead =
            s.readDeadLetters(poisonKeys.size());
        assertEquals(poisonKeys, dead.stream().map(r -> r.key()).sorted().toList());
        assertTrue(dead.stream().allMatch(r -> r.headers().lastHeader(Decode.REASON) != null));
      } finally {
        first.close();
        second.close();
      }
    }
  }

  /**
   * The broker goes away right after the writer inserted a batch, for longer than the writer's
   * commit timeout: the batch's offsets are not committed, and once the broker is back the writer
   * re-inserts that batch (harmlessly) and goes on, with no restart by hand; its thread stays alive
   * throughout, so /health/live stays UP. Not committed happens one of three ways, depending on
   * what the consumer noticed of the broker's absence before the commit: nothing, and the commit
   * times out and the writer replaces its consumer; that it is no longer an active member of its
   * group, and it refuses the commit at once; or, once away longer than the session timeout, that
   * it lost its partitions, and it drops their offsets from the commit. Either of the last two
   * counts as an abandoned commit, and the consumer rejoins when the broker is back.
   */
  @Test
  void writerHealsAfterTheBrokerWasAwayLongerThanItsCommitTimeout(@TempDir Path dir)
      throws Exception {
    assumeTrue(
        Infra.backend() == Backend.LOCAL,
        "stopping the broker and ClickHouse needs the local backend");
    Setup s = new Setup(dir, 2);
    s.env.put("WRITER_COMMIT_TIMEOUT_MS", "3000");
    List<UsageEvent> events = events(900, new Random(13));
    KafkaProducer<String, UsageEvent> producer = s.producer();
    UsageStreamApp app = UsageStreamApp.start(s.config("a"));
    try (ClickHouse clickHouse = s.clickHouse()) {
      s.send(producer, events.subList(0, 300));
      awaitExact(clickHouse, events.subList(0, 300), null, null);

      // ClickHouse away: the writer holds its next batch and retries the insert.
      double rowsBefore = metric(app, "stream_clickhouse_rows_written_total");
      Infra.localClickHouse().stop();
      s.send(producer, events.subList(300, 600));
      awaitMetricAtLeast(app, "stream_clickhouse_insert_failures_total", 1);
      // The broker away before ClickHouse is back: the retried insert succeeds, then the commit
      // cannot.
      producer.close();
      Infra.localKafka().stop();
      Infra.localClickHouse().start();
      awaitMetricAtLeast(app, "stream_clickhouse_rows_written_total", rowsBefore + 1);
      awaitUncommitted(app);
      assertEquals(
          200,
          get(app, "/health/live").statusCode(),
          "a writer that replaces its consumer is alive");

      Infra.localKafka().restart();
      producer = s.producer();
      s.send(producer, events.subList(600, 900));
      awaitExact(clickHouse, events, null, null);
      assertEquals(200, get(app, "/health/live").statusCode());
      assertReconciles(clickHouse);
    } finally {
      if (!Infra.localKafka().running()) {
        Infra.localKafka().restart();
      }
      producer.close();
      app.close();
    }
  }

  private static java.net.http.HttpResponse<String> get(UsageStreamApp app, String path)
      throws Exception {
    return java.net.http.HttpClient.newHttpClient()
        .send(
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + app.port() + path))
                .timeout(Duration.ofSeconds(30))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Waits until the batch inserted while the broker is away cannot have been committed: the writer
   * replaced its consumer after the commit timed out, or the commit was refused.
   */
  private static void awaitUncommitted(UsageStreamApp app) throws Exception {
    try {
      Await.until(
          "the writer's commit timing out or refused",
          () ->
              metricOrFail(app, "stream_writer_restarts_total") >= 1
                  || metricOrFail(app, "stream_writer_commits_abandoned_total") >= 1,
          Duration.ofMinutes(5));
    } catch (AssertionError e) {
      // The writer's own account of where it stands, to tell a stuck insert from a lost commit.
      String writer =
          get(app, "/metrics")
              .body()
              .lines()
              .filter(l -> l.startsWith("stream_writer_") || l.startsWith("stream_clickhouse_"))
              .collect(java.util.stream.Collectors.joining("\n"));
      throw new AssertionError(e.getMessage() + "; the writer's metrics:\n" + writer, e);
    }
  }

  /** {@link #metric} for a condition, which may not throw checked exceptions. */
  private static double metricOrFail(UsageStreamApp app, String name) {
    try {
      return metric(app, name);
    } catch (Exception e) {
      throw new IllegalStateException("reading " + name + " failed", e);
    }
  }

  /** The application's unlabelled gauge {@code name}, or -1 when it reports none. */
  private static double metric(UsageStreamApp app, String name) throws Exception {
    Matcher m =
        Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$")
            .matcher(get(app, "/metrics").body());
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  /**
   * Waits until the application's gauge {@code name} reaches {@code value}, or its writer thread
   * has died.
   */
  private static void awaitMetricAtLeast(UsageStreamApp app, String name, double value)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (System.nanoTime() < deadline) {
      if (metric(app, name) >= value) {
        return;
      }
      java.net.http.HttpResponse<String> live = get(app, "/health/live");
      if (live.statusCode() != 200) {
        throw new AssertionError("/health/live while waiting for " + name + ": " + live.body());
      }
      Thread.sleep(200);
    }
    throw new AssertionError(name + " did not reach " + value + " within 5 minutes");
  }

  /**
   * Names, environment and clients of one test: its own topics, application id and ClickHouse
   * database.
   */
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
      // Far fewer than the events' groups, so the rollup cache evicts all through the kills and
      // restarts.
      env.put("ROLLUP_CACHE_GROUPS", "16");
      env.put("HTTP_PORT", "0");
      env.put("STATE_DIR", dir.resolve("state").toString());
      createTopics(partitions);
      Migrations.apply(ServiceMain.read(env, StreamConfig::read).clickHouse());
    }

    /**
     * The topics as the services create them (PipelineTopics), before the test writes anything. A
     * topic the test's producer created instead would take CreateTime stamps, here the events'
     * created_at of days ago, and the broker's retention check could delete every one of them
     * before the stream read them: the test then waited for rows that could never come, which
     * looked like a stalled stream on a slow machine.
     */
    private void createTopics(int partitions) {
      StreamConfig config = ServiceMain.read(env, StreamConfig::read);
      try (Admin admin =
          Admin.create(Map.of("bootstrap.servers", Infra.kafka().bootstrapServers()))) {
        PipelineTopics.ensure(
            admin,
            List.of(config.eventsTopic(), config.distinctEventsTopic(), config.deadLetterTopic()),
            partitions,
            60_000);
      }
    }

    StreamConfig config(String instance) {
      Map<String, String> own = new java.util.HashMap<>(env);
      own.put("STATE_DIR", dir.resolve("state-" + instance).toString());
      return ServiceMain.read(own, StreamConfig::read);
    }

    Process startChild(Path log) throws IOException {
      ProcessBuilder builder =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  UsageStreamApp.class.getName())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile());
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
      // Not idempotent: a producer created right after the broker restart was once handed a
      // producer id the
      // partition already knew, and every send failed with OutOfOrderSequenceException until it
      // timed out. A retry's
      // copy is what the application must absorb anyway (the test sends every event three times).
      props.put("enable.idempotence", "false");
      props.put("linger.ms", "5");
      SchemaRegistryClient registry =
          new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
      return new KafkaProducer<>(
          props, new StringSerializer(), UsageEventSerde.serializer(registry));
    }

    /** Records no reader can decode, on the events topic; returns their keys, sorted. */
    List<String> sendPoison(int count) throws Exception {
      Properties props = new Properties();
      props.put("bootstrap.servers", Infra.kafka().bootstrapServers());
      props.put("acks", "all");
      List<String> keys = new ArrayList<>();
      try (KafkaProducer<String, byte[]> raw =
          new KafkaProducer<>(
              props,
              new StringSerializer(),
              new org.apache.kafka.common.serialization.ByteArraySerializer())) {
        for (int i = 0; i < count; i++) {
          keys.add("poison-" + i);
          raw.send(
                  new ProducerRecord<>(
                      env.get("EVENTS_TOPIC"), "poison-" + i, new byte[] {9, 9, 9, (byte) i}))
              .get();
        }
      }
      return keys;
    }

    List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> readDeadLetters(
        int expected) {
      Map<String, Object> props =
          Map.of(
              "bootstrap.servers",
              Infra.kafka().bootstrapServers(),
              "group.id",
              "dlq-reader-" + UUID.randomUUID(),
              "auto.offset.reset",
              "earliest",
              "isolation.level",
              "read_committed");
      List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> out =
          new ArrayList<>();
      try (var consumer =
          new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(
              props,
              new org.apache.kafka.common.serialization.StringDeserializer(),
              new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
        consumer.subscribe(List.of(env.get("EVENTS_TOPIC") + "-dlq"));
        long deadline = System.nanoTime() + Await.STALL.toNanos();
        while (out.size() < expected && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        }
      }
      return out;
    }

    void send(KafkaProducer<String, UsageEvent> producer, List<UsageEvent> events)
        throws Exception {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (UsageEvent e : events) {
        acks.add(
            producer.send(
                new ProducerRecord<>(
                    env.get("EVENTS_TOPIC"),
                    null,
                    e.getCreatedAt().toEpochMilli(),
                    e.getAccountId() + "/" + e.getEventId(),
                    e)));
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
      String cost =
          new BigDecimal(random.nextInt(1_000_000_000))
              .movePointLeft(12)
              .add(BigDecimal.valueOf(random.nextInt(3)))
              .toPlainString();
      UsageEvent e =
          Events.event(
              ACCOUNTS[random.nextInt(ACCOUNTS.length)],
              "ev-" + i,
              at.toString(),
              random.nextInt(4) == 0 ? null : "user-" + random.nextInt(7),
              cost);
      if (random.nextInt(6) == 0) {
        e.setIsByok(true);
        e.setByokCost(new BigDecimal("0.000043022187"));
      }
      if (random.nextBoolean()) {
        e.setApiKeyHash(Events.KEY_B);
      }
      // A third of the events in two workspaces, the rest naming none: groups of nine key fields
      // go through every failure too.
      switch (random.nextInt(6)) {
        case 0 -> e.setWorkspaceId("ops.eu:1");
        case 1 -> e.setWorkspaceId("0b8f6f4e-2f2c-4c1a-9d55-3c1d8e0a7b21");
        default -> {}
      }
      events.add(e);
    }
    return events;
  }

  private static long scalar(ClickHouse clickHouse, String sql) {
    List<JsonNode> rows = clickHouse.query(sql);
    return rows.isEmpty() ? 0 : rows.get(0).get("n").asLong();
  }

  private static void awaitAtLeast(ClickHouse clickHouse, long requests, Process child, Path log)
      throws Exception {
    try (Admin admin = admin()) {
      Await.untilProgressStops(
          "rows reaching ClickHouse",
          () -> {
            assertAlive(child, log);
            return requests(clickHouse, "usage_daily") >= requests;
          },
          () -> progress(admin, clickHouse, log),
          () ->
              "the writer's committed/end offsets of the distinct events"
                  + " topic: "
                  + writerPositions(clickHouse.database())
                  + "; end of the usage-stream log:\n"
                  + tail(log));
    }
  }

  /** Waits until the application's committed offsets on the events topic reach its end. */
  private static void awaitStreamCaughtUp(String app, Process child, Path log) throws Exception {
    try (Admin admin = admin()) {
      Await.untilProgressStops(
          "the stream counting every event sent",
          () -> {
            assertAlive(child, log);
            return streamLag(admin, app) == 0;
          },
          () -> List.of(ConsumerGroups.committedSum(admin, app), logSize(log)),
          () -> "lag " + streamLag(admin, app) + "; end of the usage-stream log:\n" + tail(log));
    }
  }

  private static Admin admin() {
    return Admin.create(Map.of("bootstrap.servers", Infra.kafka().bootstrapServers()));
  }

  private static void assertAlive(Process child, Path log) {
    if (child != null && !child.isAlive()) {
      throw new AssertionError("usage-stream died:\n" + tail(log));
    }
  }

  /**
   * What moves while the pipeline works, however slowly: what both consumer groups committed, the
   * rows in ClickHouse and the length of the child's log.
   */
  private static List<Object> progress(Admin admin, ClickHouse clickHouse, Path log) {
    String app = clickHouse.database();
    return List.of(
        ConsumerGroups.committedSum(admin, app),
        ConsumerGroups.committedSum(admin, app + "-clickhouse-writer"),
        requests(clickHouse, "usage_daily FINAL"),
        requests(clickHouse, "usage_events FINAL"),
        logSize(log));
  }

  /**
   * How many records of the events topic the application has not committed yet; -1 while that
   * cannot be told.
   */
  private static long streamLag(Admin admin, String app) {
    try {
      String topic = app + "-events";
      Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
      admin
          .describeTopics(List.of(topic))
          .allTopicNames()
          .get(30, TimeUnit.SECONDS)
          .get(topic)
          .partitions()
          .forEach(p -> ends.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
      var committed =
          admin
              .listConsumerGroupOffsets(app)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      long lag = 0;
      for (var end : admin.listOffsets(ends).all().get(30, TimeUnit.SECONDS).entrySet()) {
        var done = committed.get(end.getKey());
        lag += end.getValue().offset() - (done == null ? 0 : done.offset());
      }
      return lag;
    } catch (Exception e) {
      return -1;
    }
  }

  /**
   * {@code sum(requests)} or {@code count()} of a table, -1 while it cannot be read (no table yet,
   * ClickHouse away).
   */
  private static long requests(ClickHouse clickHouse, String table) {
    try {
      return tableExists(clickHouse)
          ? scalar(
              clickHouse,
              "SELECT "
                  + (table.startsWith("usage_daily") ? "sum(requests)" : "count()")
                  + " AS n FROM "
                  + table)
          : -1;
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private static long logSize(Path log) {
    try {
      return log == null ? 0 : Files.size(log);
    } catch (IOException e) {
      return -1;
    }
  }

  private static boolean tableExists(ClickHouse clickHouse) {
    return scalar(
            clickHouse,
            "SELECT count() AS n FROM system.tables WHERE database = currentDatabase()"
                + " AND name = 'usage_daily'")
        > 0;
  }

  /**
   * Waits until both tables count every distinct event once, then compares every total per account.
   */
  private static void awaitExact(
      ClickHouse clickHouse, List<UsageEvent> events, Process child, Path log) throws Exception {
    long expected = events.size();
    try (Admin admin = admin()) {
      Await.untilProgressStops(
          "every distinct event in both tables",
          () -> {
            assertAlive(child, log);
            long rollup = requests(clickHouse, "usage_daily FINAL");
            assertTrue(
                rollup <= expected,
                "rollups counted " + rollup + " of " + expected + " distinct events");
            return rollup == expected && requests(clickHouse, "usage_events FINAL") == expected;
          },
          () -> progress(admin, clickHouse, log),
          () ->
              "usage_daily counts "
                  + requests(clickHouse, "usage_daily FINAL")
                  + ", usage_events "
                  + requests(clickHouse, "usage_events FINAL")
                  + ", expected "
                  + expected
                  + "; missing from usage_events: "
                  + missingRawEvents(clickHouse, events)
                  + "; the writer's committed/end offsets of the distinct events topic: "
                  + writerPositions(clickHouse.database())
                  + "; end of the usage-stream log:\n"
                  + tail(log));
    }
    for (String account : ACCOUNTS) {
      List<UsageEvent> mine =
          events.stream().filter(e -> e.getAccountId().equals(account)).toList();
      BigDecimal cost =
          mine.stream().map(UsageEvent::getCost).reduce(BigDecimal.ZERO, BigDecimal::add);
      BigDecimal byok =
          mine.stream().map(UsageEvent::getByokCost).reduce(BigDecimal.ZERO, BigDecimal::add);
      long byokRequests = mine.stream().filter(UsageEvent::getIsByok).count();
      JsonNode row =
          clickHouse
              .query(
                  "SELECT sum(requests) AS n, toString(sum(usage)) AS money,"
                      + " toString(sum(byok_usage_inference)) AS byok_money, sum(byok_requests) AS byok_n,"
                      + " sum(completion_tokens) AS c FROM usage_daily FINAL WHERE account_id = '"
                      + account
                      + "'")
              .get(0);
      assertEquals(mine.size(), row.get("n").asLong(), account);
      assertEquals(
          0, cost.compareTo(new BigDecimal(row.get("money").asText())), account + " cost " + row);
      assertEquals(
          0,
          byok.compareTo(new BigDecimal(row.get("byok_money").asText())),
          account + " byok " + row);
      assertEquals(byokRequests, row.get("byok_n").asLong(), account);
      assertEquals(20L * mine.size(), row.get("c").asLong(), account);
      JsonNode rawRow =
          clickHouse
              .query(
                  "SELECT toString(sum(cost)) AS money, count() AS n FROM usage_events FINAL"
                      + " WHERE account_id = '"
                      + account
                      + "'")
              .get(0);
      assertEquals(
          0, cost.compareTo(new BigDecimal(rawRow.get("money").asText())), account + " raw cost");
    }
    assertEquals(
        WorkspaceTotals.of(events, Workspaces::stored),
        WorkspaceTotals.in(clickHouse, "usage_daily"),
        "per account and workspace");
    assertEquals(
        WorkspaceTotals.of(events, workspace -> workspace),
        WorkspaceTotals.in(clickHouse, "usage_events"),
        "per account and workspace, raw");
  }

  /**
   * Per partition of the distinct-events topic: the writer group's committed offset, the last
   * stable offset (what read_committed can read) and the log end.
   */
  private static String writerPositions(String app) {
    String topic = app + "-events-distinct";
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of("bootstrap.servers", Infra.kafka().bootstrapServers()))) {
      var committed =
          admin
              .listConsumerGroupOffsets(app + "-clickhouse-writer")
              .partitionsToOffsetAndMetadata()
              .get(10, java.util.concurrent.TimeUnit.SECONDS);
      Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec>
          latest = new HashMap<>();
      committed.keySet().stream()
          .filter(tp -> tp.topic().equals(topic))
          .forEach(tp -> latest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()));
      var ends =
          admin
              .listOffsets(
                  latest,
                  new org.apache.kafka.clients.admin.ListOffsetsOptions(
                      org.apache.kafka.common.IsolationLevel.READ_COMMITTED))
              .all()
              .get(10, java.util.concurrent.TimeUnit.SECONDS);
      var uncommittedEnds =
          admin
              .listOffsets(
                  latest,
                  new org.apache.kafka.clients.admin.ListOffsetsOptions(
                      org.apache.kafka.common.IsolationLevel.READ_UNCOMMITTED))
              .all()
              .get(10, java.util.concurrent.TimeUnit.SECONDS);
      StringBuilder out = new StringBuilder();
      latest.keySet().stream()
          .sorted(
              java.util.Comparator.comparingInt(org.apache.kafka.common.TopicPartition::partition))
          .forEach(
              tp ->
                  out.append(tp.partition())
                      .append('=')
                      .append(committed.get(tp).offset())
                      .append('/')
                      .append(ends.get(tp).offset())
                      .append('/')
                      .append(uncommittedEnds.get(tp).offset())
                      .append(' '));
      return out.toString();
    } catch (Exception e) {
      return "unknown (" + e + ")";
    }
  }

  /**
   * The events sent that usage_events lacks (at most 30), with their created_at, to tell a pattern.
   */
  private static List<String> missingRawEvents(ClickHouse clickHouse, List<UsageEvent> events) {
    java.util.Set<String> present = new java.util.HashSet<>();
    clickHouse
        .query("SELECT DISTINCT event_id FROM usage_events")
        .forEach(r -> present.add(r.get("event_id").asText()));
    return events.stream()
        .filter(e -> !present.contains(e.getEventId()))
        .map(e -> e.getEventId() + "@" + e.getCreatedAt())
        .limit(30)
        .toList();
  }

  private static String tail(Path log) {
    if (log == null) {
      return "(in-process instances)";
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(log).stream().filter(l -> !l.startsWith("\tat ")).toList();
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  private static void assertReconciles(ClickHouse clickHouse) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    int code =
        Reconcile.run(
            clickHouse,
            today.minusDays(40),
            today,
            new PrintStream(out, true, StandardCharsets.UTF_8));
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
      assertFalse(
          clickHouse.query(sql.endsWith(";") ? sql.substring(0, sql.length() - 1) : sql).isEmpty(),
          "no rows from the README example:\n" + sql);
      examples++;
    }
    assertTrue(examples >= 3, "the README holds the analysts' examples");
  }
}
