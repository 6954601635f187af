package io.tallyhouse.local;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.IngestConfig;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.query.QueryConfig;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
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
    this.name = name;
    Path home = Files.createTempDirectory("tallyhouse-" + name);
    this.keys = new CredentialStore(home.resolve("keys.jsonl"));
    ClickHouseEndpoint ch = Infra.clickhouse();

    Map<String, String> env = Infra.serviceEnvironment();
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("KEYS_FILE", keys.file().toString());
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("APPLICATION_ID", name + "-stream");
    env.put("STATE_DIR", home.resolve("streams").toString());
    env.put("HTTP_PORT", "0");

    this.clickHouse =
        new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name));
    this.stream = UsageStreamApp.start(ServiceMain.read(env, StreamConfig::read));
    this.ingest = IngestServer.start(ServiceMain.read(env, IngestConfig::read), clock);
    this.query = ActivityServer.start(ServiceMain.read(env, QueryConfig::read), clock);
  }

  String ingestUrl() {
    return "http://127.0.0.1:" + ingest.port();
  }

  String queryUrl() {
    return "http://127.0.0.1:" + query.port();
  }

  String newIngestToken() {
    String secret =
        io.tallyhouse.common.auth.Secrets.generate(CredentialKind.INGEST.secretPrefix());
    keys.add(secret, CredentialKind.INGEST, null, List.of(), "test");
    return secret;
  }

  String newManagementKey(String account) {
    String secret =
        io.tallyhouse.common.auth.Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    keys.add(secret, CredentialKind.MANAGEMENT, account, List.of(), "test");
    return secret;
  }

  @Override
  public void close() {
    query.close();
    ingest.close();
    stream.close();
    clickHouse.close();
  }
}
