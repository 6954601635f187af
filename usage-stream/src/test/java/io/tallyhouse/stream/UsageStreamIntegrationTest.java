package io.tallyhouse.stream;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.reconcile.Reconcile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Events on the real broker come out as exact totals in the real ClickHouse, across a restart of
 * the app.
 */
class UsageStreamIntegrationTest {

  @Test
  void eventsBecomeExactRollupsInClickHouseAcrossARestart(@TempDir Path dir) throws Exception {
    String name = StreamTestEnv.newName("st");
    ClickHouseEndpoint ch = Infra.clickhouse();
    StreamConfig config = StreamTestEnv.migratedConfig(name, dir);

    Instant base =
        Instant.now().truncatedTo(ChronoUnit.DAYS).minus(2, ChronoUnit.DAYS).plusSeconds(3600);
    List<UsageEvent> distinct = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      distinct.add(
          Events.event(
              i % 2 == 0 ? "acme" : "beta",
              "e" + i,
              base.plusSeconds(i * 3000L).toString(),
              i % 3 == 0 ? null : "user-" + (i % 3),
              "0.00000000000" + (1 + i % 9)));
    }
    try (ClickHouse clickHouse =
        new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name))) {
      UsageStreamApp app = UsageStreamApp.start(config);
      try {
        produce(config, distinct.subList(0, 30));
        produce(config, distinct.subList(0, 10)); // retries of the same events
        awaitRequests(clickHouse, 30);
      } finally {
        app.close();
      }
      // A restarted application resumes from its committed state: new events and more copies still
      // count once.
      app = UsageStreamApp.start(config);
      try {
        assertEquals(
            200,
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + app.port() + "/health/live"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .statusCode());
        produce(config, distinct.subList(20, 50));
        awaitRequests(clickHouse, 50);
      } finally {
        app.close();
      }
      for (String account : List.of("acme", "beta")) {
        List<UsageEvent> mine =
            distinct.stream().filter(e -> e.getAccountId().equals(account)).toList();
        BigDecimal expectedCost =
            mine.stream().map(UsageEvent::getCost).reduce(BigDecimal.ZERO, BigDecimal::add);
        JsonNode row =
            clickHouse
                .query(
                    "SELECT sum(requests) AS n, toString(sum(usage)) AS cost,"
                        + " sum(prompt_tokens) AS prompt FROM usage_daily FINAL WHERE account_id = '"
                        + account
                        + "'")
                .get(0);
        assertEquals(mine.size(), row.get("n").asLong());
        assertEquals(
            0, expectedCost.compareTo(new BigDecimal(row.get("cost").asText())), row.toString());
        assertEquals(10L * mine.size(), row.get("prompt").asLong());
      }
      JsonNode keys =
          clickHouse
              .query("SELECT count(DISTINCT account_id, api_key_hash) AS n FROM api_key_hashes")
              .get(0);
      assertEquals(2, keys.get("n").asLong());
    }
  }

  /**
   * Events of two workspaces and of none, each sent again later under another workspace: a copy is
   * the same event (dedup is account_id and event_id), so it counts once, in the workspace of the
   * copy counted first. Totals per workspace are exact in usage_daily and usage_events, the
   * workspaces table holds each (account, workspace) once, and a restart in between changes none of
   * it.
   */
  @Test
  void eachWorkspaceHasExactTotalsAndCopiesInAnotherWorkspaceCountOnce(@TempDir Path dir)
      throws Exception {
    String name = StreamTestEnv.newName("ws");
    ClickHouseEndpoint ch = Infra.clickhouse();
    StreamConfig config = StreamTestEnv.migratedConfig(name, dir);
    String uuid = "0b8f6f4e-2f2c-4c1a-9d55-3c1d8e0a7b21";
    List<String> workspaces = List.of(Workspaces.DEFAULT, "ops.eu:1", uuid);
    Instant base =
        Instant.now().truncatedTo(ChronoUnit.DAYS).minus(1, ChronoUnit.DAYS).plusSeconds(600);
    List<UsageEvent> distinct = new ArrayList<>();
    List<UsageEvent> copies = new ArrayList<>();
    for (int i = 0; i < 36; i++) {
      UsageEvent e =
          Events.event(
              "acme",
              "w" + i,
              base.plusSeconds(i * 60L).toString(),
              i % 4 == 0 ? null : "user-" + (i % 2),
              "0.0000000000" + (10 + i));
      // Events without a workspace_id: the Avro default.
      if (i % 3 != 0) {
        e.setWorkspaceId(workspaces.get(i % 3));
      }
      distinct.add(e);
      copies.add(UsageEvent.newBuilder(e).setWorkspaceId(workspaces.get((i + 1) % 3)).build());
    }
    try (ClickHouse clickHouse =
        new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name))) {
      UsageStreamApp app = UsageStreamApp.start(config);
      try {
        produce(config, distinct.subList(0, 24));
        produce(config, copies.subList(0, 12));
        awaitRequests(clickHouse, 24);
      } finally {
        app.close();
      }
      Map<String, String> before = WorkspaceTotals.in(clickHouse, "usage_daily");
      app = UsageStreamApp.start(config);
      try {
        produce(config, copies.subList(12, 24));
        produce(config, distinct.subList(24, 36));
        produce(config, copies.subList(24, 36));
        awaitRequests(clickHouse, 36);
      } finally {
        app.close();
      }

      assertEquals(
          WorkspaceTotals.of(distinct, Workspaces::stored),
          WorkspaceTotals.in(clickHouse, "usage_daily"));
      assertEquals(
          WorkspaceTotals.of(distinct, workspace -> workspace),
          WorkspaceTotals.in(clickHouse, "usage_events"));
      assertTrue(
          before
              .keySet()
              .containsAll(
                  List.of("acme " + Workspaces.STORED_DEFAULT, "acme ops.eu:1", "acme " + uuid)),
          "every workspace counted before the restart: " + before);
      List<String> pairs = new ArrayList<>();
      clickHouse
          .query(
              "SELECT account_id, workspace_id, count() AS n FROM workspaces FINAL"
                  + " GROUP BY account_id, workspace_id ORDER BY workspace_id")
          .forEach(
              row ->
                  pairs.add(
                      row.get("account_id").asText()
                          + " "
                          + row.get("workspace_id").asText()
                          + " "
                          + row.get("n").asLong()));
      assertEquals(
          List.of(
              "acme 0b8f6f4e-2f2c-4c1a-9d55-3c1d8e0a7b21 1", "acme default 1", "acme ops.eu:1 1"),
          pairs);
      ByteArrayOutputStream report = new ByteArrayOutputStream();
      LocalDate day = LocalDate.ofInstant(base, ZoneOffset.UTC);
      assertEquals(
          ExitCodes.OK,
          Reconcile.run(clickHouse, day, day.plusDays(1), new PrintStream(report, true, UTF_8)),
          report.toString(UTF_8));
      StreamFailureIntegrationTest.runAnalystExamples(clickHouse);
    }
  }

  private static void produce(StreamConfig config, List<UsageEvent> events) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("acks", "all");
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    try (KafkaProducer<String, UsageEvent> producer =
        new KafkaProducer<>(props, new StringSerializer(), UsageEventSerde.serializer(registry))) {
      for (UsageEvent e : events) {
        producer
            .send(
                new ProducerRecord<>(
                    config.eventsTopic(),
                    null,
                    e.getCreatedAt().toEpochMilli(),
                    e.getAccountId() + "/" + e.getEventId(),
                    e))
            .get();
      }
    }
  }

  private static void awaitRequests(ClickHouse clickHouse, long expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + Await.STALL.toNanos();
    long seen = -1;
    while (System.nanoTime() < deadline) {
      seen =
          clickHouse
              .query("SELECT sum(requests) AS n FROM usage_daily FINAL")
              .get(0)
              .get("n")
              .asLong();
      if (seen == expected) {
        // Stay a moment longer: a double count would show up as a number above the expected one.
        Thread.sleep(1500);
        seen =
            clickHouse
                .query("SELECT sum(requests) AS n FROM usage_daily FINAL")
                .get(0)
                .get("n")
                .asLong();
        assertEquals(expected, seen);
        return;
      }
      assertTrue(
          seen <= expected,
          "counted " + seen + " requests, more than the " + expected + " distinct events");
      Thread.sleep(200);
    }
    assertEquals(expected, seen, "requests in ClickHouse");
  }
}
