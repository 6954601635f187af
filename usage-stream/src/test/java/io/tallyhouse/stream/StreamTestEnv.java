package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.testkit.Infra;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

/** The stream's settings on the shared servers, with a database and topics of a test's own. */
final class StreamTestEnv {

  private StreamTestEnv() {}

  /** A name no other test uses: {@code prefix_} and 12 random hex digits. */
  static String newName(String prefix) {
    return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  /**
   * The shared servers' environment with database {@code name}, events topic {@code name-events} of
   * three partitions and HTTP on any free port; without an application id or state folder.
   */
  static Map<String, String> environment(String name) {
    Map<String, String> env = Infra.serviceEnvironment();
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("EVENTS_PARTITIONS", "3");
    env.put("HTTP_PORT", "0");
    return env;
  }

  /**
   * {@link #environment} as application {@code name} keeping its state in {@code dir}, validated,
   * with its database brought to this build's schema.
   */
  static StreamConfig migratedConfig(String name, Path dir) {
    Map<String, String> env = environment(name);
    env.put("APPLICATION_ID", name);
    env.put("STATE_DIR", dir.toString());
    StreamConfig config = ServiceMain.read(env, StreamConfig::read);
    Migrations.apply(config.clickHouse());
    return config;
  }

  /** The requests usage_daily counts in all, each group at its latest version. */
  static long countedRequests(ClickHouse clickHouse) {
    return clickHouse
        .query("SELECT sum(requests) AS n FROM usage_daily FINAL")
        .get(0)
        .get("n")
        .asLong();
  }
}
