package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.local.ExpectedActivity.SentEvent;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.ClickHouseCluster;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.KafkaCluster;
import io.tallyhouse.tools.TallyhouseCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many instances of each service, each a child JVM, under steady ingest through both gateway-ingest
 * instances while servers and instances are killed with SIGKILL and brought back, one fault at a
 * time, and while a ClickHouse replica is cut off from the network. Afterwards ClickHouse holds
 * exactly the distinct events that were acknowledged (202), both activity-query instances answer
 * the totals computed independently from them, and reconcile passes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterFailureIntegrationTest {

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  private static final int PARTITIONS = 6;
  private static final String CLUSTER = "tally";

  /** Requests acknowledged while a fault lasts, so that traffic demonstrably went on. */
  private static final int DURING_FAULT = 30;

  private static final String INSERT_FAILURES = "stream_clickhouse_insert_failures_total";

  // Kept when the test fails: the instances' and servers' logs are in it.
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  static Path dir;

  private static final String NAME = "cf_" + Long.toHexString(System.currentTimeMillis());
  private static KafkaCluster kafka;
  private static ClickHouseCluster clickHouseCluster;
  private static ServiceFleet fleet;
  private static List<ServiceProcess> ingest;
  private static List<ServiceProcess> streams;
  private static List<ServiceProcess> queries;
  private static ClickHouse clickHouse;
  private static String ingestToken;
  private static final Map<String, String> MANAGEMENT_KEYS = new HashMap<>();
  private static final List<SentEvent> ACKNOWLEDGED = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    kafka = KafkaCluster.start(dir.resolve("kafka"), 3);
    kafka.grantPrefix(KafkaCluster.APP, NAME);
    try (Admin admin = Admin.create(kafka.clientProperties(KafkaCluster.ADMIN))) {
      PipelineTopics.ensure(
          admin,
          List.of(NAME + "-events", NAME + "-events-distinct", NAME + "-events-dlq"),
          PARTITIONS,
          60_000);
    }
    // s2r1 behind network links, for the network cut; usage-stream-3 writes through it.
    clickHouseCluster =
        ClickHouseCluster.start(
            dir.resolve("clickhouse"), CLUSTER, 2, 2, Set.of(ClickHouseCluster.replicaName(2, 1)));
    // The schema across the cluster, made once by the operator's command through any one node; the
    // nodes listen on ports of their own, so the command is told one node of every shard (for the
    // statements 18.16 cannot run ON CLUSTER).
    assertEquals(
        0,
        tool(
            node(0),
            "migrate",
            "--cluster",
            CLUSTER,
            "--shard-url",
            clickHouseCluster.node(1, 1).httpUrl(),
            "--shard-url",
            clickHouseCluster.node(2, 2).httpUrl()),
        "tallyhouse migrate --cluster");
    clickHouse = new ClickHouse(clickHouseConfig(node(0)));

    CredentialStore keys = new CredentialStore(dir.resolve("keys.jsonl"));
    ingestToken = ServiceApi.newIngestToken(keys);
    for (String account : SteadyIngest.ACCOUNTS) {
      MANAGEMENT_KEYS.put(account, ServiceApi.newManagementKey(keys, account));
    }

    Map<String, String> env = new HashMap<>(kafka.serviceEnvironment(KafkaCluster.APP));
    env.put("SCHEMA_REGISTRY_URL", Infra.registry().url());
    env.put("KEYS_FILE", keys.file().toString());
    env.put("EVENTS_TOPIC", NAME + "-events");
    env.put("APPLICATION_ID", NAME + "-stream");
    env.put("STREAM_THREADS", "1");
    fleet = new ServiceFleet(dir, env);
    // Each instance talks to one ClickHouse node, spread over all four.
    streams = fleet.add("usage-stream", UsageStreamApp.class, 3, i -> clickHouseEnv(node(i)));
    ingest = fleet.add("gateway-ingest", IngestServer.class, 2, i -> Map.of());
    queries = fleet.add("activity-query", ActivityServer.class, 2, i -> clickHouseEnv(node(i + 3)));
    List<ServiceProcess> all = new ArrayList<>(streams);
    all.addAll(ingest);
    all.addAll(queries);
    ServiceFleet.start(all);
  }

  @AfterAll
  static void stop() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
    if (clickHouse != null) {
      clickHouse.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    if (clickHouseCluster != null) {
      clickHouseCluster.close();
    }
  }

  /** One broker (not the active controller), a ClickHouse node, then one usage-stream instance. */
  @Test
  @Order(1)
  void aKilledBrokerAndAKilledStreamInstanceLoseAndDoubleNothing() throws Exception {
    try (SteadyIngest traffic = new SteadyIngest(urls(ingest), ingestToken)) {
      traffic.start();
      traffic.awaitMoreAcknowledged(DURING_FAULT);
      int controller = kafka.activeController();
      int broker =
          kafka.nodeIds().stream().filter(id -> id != controller).findFirst().orElseThrow();
      underFault(
          traffic,
          "Kafka broker " + broker + " killed",
          () -> kafka.kill(broker),
          () -> restart(broker));
      // The replica usage-stream-3 writes to; its shard goes on with the other replica meanwhile.
      ClickHouseServer replica = node(2);
      underFault(traffic, "ClickHouse replica s2r1 killed", replica::kill, replica::start);
      ServiceProcess stream = streams.get(1);
      underFault(traffic, stream.name() + " killed", stream::kill, () -> restart(stream));
      ACKNOWLEDGED.addAll(traffic.stop());
      report(traffic);
    }
    assertExactlyOnceEverywhere();
  }

  /** The active controller, which is a broker too: the quorum elects another leader. */
  @Test
  @Order(2)
  void aKilledActiveControllerLosesAndDoublesNothing() throws Exception {
    try (SteadyIngest traffic = new SteadyIngest(urls(ingest), ingestToken)) {
      traffic.start();
      traffic.awaitMoreAcknowledged(DURING_FAULT);
      int controller = kafka.activeController();
      underFault(
          traffic,
          "the active controller, node " + controller + ", killed",
          () -> kafka.kill(controller),
          () -> restart(controller));
      ACKNOWLEDGED.addAll(traffic.stop());
      report(traffic);
    }
    assertExactlyOnceEverywhere();
  }

  /**
   * The ClickHouse replica usage-stream-3 writes to cut off from the network while it runs on: the
   * writer's inserts hang until they time out rather than being refused, and the node loses its
   * ZooKeeper session. The cut lasts until both have happened; when it heals, requests held in the
   * network reach the node, so an insert the writer gave up on may land after all and its retry
   * must not count twice.
   */
  @Test
  @Order(3)
  void aClickHouseReplicaCutOffFromTheNetworkLosesAndDoublesNothing() throws Exception {
    ServiceProcess writer = streams.get(2);
    try (SteadyIngest traffic = new SteadyIngest(urls(ingest), ingestToken)) {
      traffic.start();
      traffic.awaitMoreAcknowledged(DURING_FAULT);
      double failuresBefore = writer.metric(INSERT_FAILURES);
      underFault(
          traffic,
          "ClickHouse replica s2r1 cut off from the network",
          () -> {
            clickHouseCluster.cut(2, 1);
            Await.until(
                "s2r1's ZooKeeper session expired, seen from s2r2",
                () -> activeReplicasSeenFrom(node(3)) == 1,
                Duration.ofMinutes(2));
            Await.until(
                writer.name() + " failing an insert into the cut-off replica",
                () -> writer.metric(INSERT_FAILURES) > failuresBefore,
                Duration.ofMinutes(3));
          },
          () -> {
            clickHouseCluster.heal(2, 1);
            Await.until(
                "s2r1 active again",
                () -> activeReplicasSeenFrom(node(3)) == 2,
                Duration.ofMinutes(2));
          });
      ACKNOWLEDGED.addAll(traffic.stop());
      report(traffic);
    }
    assertExactlyOnceEverywhere();
  }

  /** The active replicas of the raw events' shard table as {@code node} sees them in ZooKeeper. */
  private static long activeReplicasSeenFrom(ClickHouseServer node) {
    try (ClickHouse direct = new ClickHouse(clickHouseConfig(node))) {
      List<JsonNode> rows =
          direct.query(
              "SELECT active_replicas AS n FROM system.replicas"
                  + " WHERE database = currentDatabase() AND table = 'usage_events_local'");
      return rows.isEmpty() ? -1 : rows.get(0).get("n").asLong();
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** A step of the test that may throw anything. */
  @FunctionalInterface
  private interface Step {
    void run() throws Exception;
  }

  /**
   * Breaks something with {@code fault}, waits until traffic went on meanwhile, brings it back with
   * {@code repair} and waits until traffic goes on again, with every instance running.
   */
  private static void underFault(SteadyIngest traffic, String what, Step fault, Step repair)
      throws Exception {
    long start = System.nanoTime();
    fault.run();
    traffic.awaitMoreAcknowledged(DURING_FAULT);
    repair.run();
    traffic.awaitMoreAcknowledged(DURING_FAULT);
    fleet.assertAllAlive();
    System.out.printf(
        "%s and back under traffic in %d s%n",
        what, Duration.ofNanos(System.nanoTime() - start).toSeconds());
  }

  private static void restart(int node) {
    kafka.start(node);
    kafka.awaitFullIsr();
  }

  private static void restart(ServiceProcess instance) throws InterruptedException {
    instance.start();
    instance.awaitReady();
  }

  private static void report(SteadyIngest traffic) {
    System.out.printf(
        "%d requests acknowledged, %d attempts not acknowledged and retried%n",
        traffic.acknowledgedRequests(), traffic.refusedAttempts());
  }

  /** What was acknowledged is in ClickHouse exactly once, answered by every query instance. */
  private static void assertExactlyOnceEverywhere() throws Exception {
    long start = System.nanoTime();
    assertClickHouseHoldsExactlyTheAcknowledgedEvents();
    assertEveryQueryInstanceAnswersTheExpectedTotals();
    assertReconciles();
    System.out.printf(
        "%d distinct events checked in %d s%n",
        ACKNOWLEDGED.stream().map(e -> e.account() + "/" + e.eventId()).distinct().count(),
        Duration.ofNanos(System.nanoTime() - start).toSeconds());
  }

  /** ClickHouse node {@code i} modulo four: s1r1, s1r2, s2r1, s2r2. */
  private static ClickHouseServer node(int i) {
    List<ClickHouseServer> nodes = clickHouseCluster.nodes();
    return nodes.get(i % nodes.size());
  }

  private static ClickHouseConfig clickHouseConfig(ClickHouseServer node) {
    return new ClickHouseConfig(node.httpUrl(), node.user(), node.password(), NAME);
  }

  /** The variables that point a service or a tool at {@code node} and the pipeline's database. */
  private static Map<String, String> clickHouseEnv(ClickHouseServer node) {
    return Map.of(
        "CLICKHOUSE_URL", node.httpUrl(),
        "CLICKHOUSE_USER", node.user(),
        "CLICKHOUSE_PASSWORD", node.password(),
        "CLICKHOUSE_DATABASE", NAME);
  }

  /** Runs the operator's command {@code args} against {@code node}; returns its exit code. */
  private static int tool(ClickHouseServer node, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        TallyhouseCli.run(
            args,
            clickHouseEnv(node),
            Clock.systemUTC(),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    System.out.printf("tallyhouse %s: exit %d%n%s%n", String.join(" ", args), code, out);
    return code;
  }

  private static List<String> urls(List<ServiceProcess> instances) {
    return instances.stream().map(ServiceProcess::url).toList();
  }

  /**
   * Waits until ClickHouse counts every distinct acknowledged event (never more on the way), then
   * compares the sets: nothing lost, nothing doubled, nothing that was not acknowledged.
   */
  private static void assertClickHouseHoldsExactlyTheAcknowledgedEvents() throws Exception {
    Set<String> expected = new HashSet<>();
    ACKNOWLEDGED.forEach(e -> expected.add(e.account() + "/" + e.eventId()));
    long distinct = expected.size();
    Await.untilProgressStops(
        distinct + " distinct acknowledged events in ClickHouse",
        () -> {
          long raw = count("SELECT count() AS n FROM usage_events FINAL");
          long rollup = count("SELECT sum(requests) AS n FROM usage_daily FINAL");
          assertTrue(
              raw <= distinct && rollup <= distinct,
              "more events counted than acknowledged: raw "
                  + raw
                  + ", rollups "
                  + rollup
                  + ", acknowledged "
                  + distinct);
          return raw == distinct && rollup == distinct;
        },
        () ->
            List.of(
                count("SELECT count() AS n FROM usage_events FINAL"),
                count("SELECT sum(requests) AS n FROM usage_daily FINAL")),
        () -> "ClickHouse counts " + counts() + "; the services' logs:" + fleet.logTails(30));
    Set<String> stored = new HashSet<>();
    List<JsonNode> rows = clickHouse.query("SELECT account_id, event_id FROM usage_events FINAL");
    rows.forEach(r -> stored.add(r.get("account_id").asText() + "/" + r.get("event_id").asText()));
    assertEquals(rows.size(), stored.size(), "an event is stored twice");
    assertEquals(expected, stored, "the stored events are the acknowledged ones");
  }

  /**
   * Every activity-query instance answers every account's activity, plain and grouped by user and
   * key, exactly as computed from the acknowledged events (waiting out its cache's staleness).
   */
  private static void assertEveryQueryInstanceAnswersTheExpectedTotals() throws Exception {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    for (ServiceProcess query : queries) {
      for (String account : SteadyIngest.ACCOUNTS) {
        for (String grouping : List.of("", "group_by=user,api_key")) {
          boolean grouped = !grouping.isEmpty();
          List<Map<String, Object>> expected =
              ExpectedActivity.of(ACKNOWLEDGED, account, today, grouped, grouped, e -> true);
          String where = query.name() + " " + account + " ?" + grouping;
          AssertionError[] last = new AssertionError[1];
          try {
            Await.until(
                where + " answering the expected totals",
                () -> {
                  try {
                    ExpectedActivity.assertAnswer(
                        expected, answer(query, account, grouping), where);
                    return true;
                  } catch (AssertionError e) {
                    last[0] = e;
                    return false;
                  }
                },
                Duration.ofMinutes(2));
          } catch (AssertionError timedOut) {
            throw last[0] == null ? timedOut : last[0];
          }
        }
      }
    }
  }

  private static JsonNode answer(ServiceProcess query, String account, String grouping) {
    try {
      HttpResponse<String> response =
          ServiceApi.activity(query.url(), MANAGEMENT_KEYS.get(account), grouping);
      if (response.statusCode() != 200) {
        throw new AssertionError(query.name() + " answered " + response.statusCode());
      }
      return JSON.readTree(response.body()).get("data");
    } catch (java.io.IOException e) {
      throw new AssertionError(query.name() + " did not answer: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }

  /**
   * tallyhouse reconcile passes on the cluster, asked through another node than the test's reads.
   */
  private static void assertReconciles() {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    assertEquals(
        0,
        tool(
            node(3),
            "reconcile",
            "--from",
            today.minusDays(40).toString(),
            "--to",
            today.toString()),
        "tallyhouse reconcile on the cluster");
  }

  private static String counts() {
    return "usage_events "
        + count("SELECT count() AS n FROM usage_events FINAL")
        + ", usage_daily requests "
        + count("SELECT sum(requests) AS n FROM usage_daily FINAL");
  }

  /** A count from ClickHouse, -1 while it cannot be read (a node away). */
  private static long count(String sql) {
    try {
      List<JsonNode> rows = clickHouse.query(sql);
      return rows.isEmpty() || rows.get(0).get("n").isNull() ? 0 : rows.get(0).get("n").asLong();
    } catch (RuntimeException e) {
      return -1;
    }
  }
}
