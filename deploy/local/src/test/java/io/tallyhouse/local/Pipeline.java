package io.tallyhouse.local;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.IngestConfig;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.query.QueryConfig;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The three services wired together on the shared real servers of the test JVM, with their own
 * topics, ClickHouse database, Streams application id and key file, so several pipelines never see
 * each other.
 */
final class Pipeline implements AutoCloseable {

  final String name;
  final CredentialStore keys;
  final ClickHouse clickHouse;
  final IngestServer ingest;
  final UsageStreamApp stream;
  final ActivityServer query;

  Pipeline(String name, Clock clock) throws IOException {
    this(name, clock, Map.of());
  }

  /**
   * A pipeline whose services reach Kafka as {@code kafkaEnvironment} says ({@code
   * KAFKA_BOOTSTRAP_SERVERS}, {@code KAFKA_CLIENT_*}), instead of the shared broker.
   */
  Pipeline(String name, Clock clock, Map<String, String> kafkaEnvironment) throws IOException {
    this(name, clock, kafkaEnvironment, Map.of());
  }

  /**
   * A pipeline whose services get {@code environment} on top of the shared servers' (any of Kafka,
   * the registry or ClickHouse), and activity-query {@code queryEnvironment} on top of that (e.g. a
   * read-only ClickHouse user). The test's own ClickHouse client connects as the stream.
   */
  Pipeline(
      String name,
      Clock clock,
      Map<String, String> environment,
      Map<String, String> queryEnvironment)
      throws IOException {
    this.name = name;
    Path home = Files.createTempDirectory("tallyhouse-" + name);
    this.keys = new CredentialStore(home.resolve("keys.jsonl"));

    Map<String, String> env = environment(name, home, environment);
    Map<String, String> queryEnv = new HashMap<>(env);
    queryEnv.putAll(queryEnvironment);

    this.clickHouse = new ClickHouse(ServiceMain.read(env, PipelineSettings::clickHouse));
    Migrations.apply(clickHouse);
    this.stream = UsageStreamApp.start(ServiceMain.read(env, StreamConfig::read));
    this.ingest = IngestServer.start(ServiceMain.read(env, IngestConfig::read), clock);
    this.query = ActivityServer.start(ServiceMain.read(queryEnv, QueryConfig::read), clock);
  }

  /**
   * The services' environment for the pipeline {@code name} living in {@code home}: the shared
   * servers, its own topics, database, application id and key file, and {@code overrides} on top.
   */
  static Map<String, String> environment(String name, Path home, Map<String, String> overrides) {
    Map<String, String> env = Infra.serviceEnvironment();
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("KEYS_FILE", home.resolve("keys.jsonl").toString());
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("APPLICATION_ID", name + "-stream");
    env.put("STATE_DIR", home.resolve("streams").toString());
    env.put("HTTP_PORT", "0");
    env.putAll(overrides);
    return env;
  }

  /**
   * Waits until ClickHouse counts {@code distinct} requests (or {@link Await#STALL} passes) and
   * returns what it counts.
   */
  long awaitCountedRequests(long distinct) throws InterruptedException {
    long deadline = System.nanoTime() + Await.STALL.toNanos();
    long counted = -1;
    while (System.nanoTime() < deadline) {
      List<JsonNode> rows =
          clickHouse.query("SELECT toString(sum(requests)) AS n FROM usage_daily FINAL");
      counted =
          rows.isEmpty() || rows.get(0).get("n").isNull()
              ? 0
              : Long.parseLong(rows.get(0).get("n").asText());
      if (counted >= distinct) {
        break;
      }
      Thread.sleep(200);
    }
    return counted;
  }

  String ingestUrl() {
    return "http://127.0.0.1:" + ingest.port();
  }

  String queryUrl() {
    return "http://127.0.0.1:" + query.port();
  }

  /** Posts {@code body} to gateway-ingest's events endpoint with {@code token}. */
  HttpResponse<String> post(String token, String body) throws IOException, InterruptedException {
    return ServiceApi.postEvents(ingestUrl(), token, body);
  }

  /** The activity API's answer to {@code key} for {@code query}. */
  HttpResponse<String> activity(String key, String query) throws IOException, InterruptedException {
    return ServiceApi.activity(queryUrl(), key, query);
  }

  /** The single-event lookup's answer to {@code key} for {@code eventId}. */
  HttpResponse<String> event(String key, String eventId) throws IOException, InterruptedException {
    return ServiceApi.event(queryUrl(), key, eventId);
  }

  String newIngestToken() {
    return ServiceApi.newIngestToken(keys);
  }

  String newManagementKey(String account) {
    return ServiceApi.newManagementKey(keys, account);
  }

  @Override
  public void close() {
    query.close();
    ingest.close();
    stream.close();
    clickHouse.close();
  }
}
