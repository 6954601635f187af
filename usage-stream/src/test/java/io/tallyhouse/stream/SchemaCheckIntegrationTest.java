package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.testkit.Infra;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * usage-stream never makes the schema: it refuses to start on a database that `tallyhouse migrate`
 * has not brought to this build's schema, and says what to run.
 */
class SchemaCheckIntegrationTest {

  @Test
  void aDatabaseBehindThisBuildIsRefusedSayingWhatToRun(@TempDir Path dir) {
    String name = "sc_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<String, String> env = Infra.serviceEnvironment();
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("APPLICATION_ID", name);
    env.put("STATE_DIR", dir.toString());
    env.put("HTTP_PORT", "0");
    StreamConfig config = ServiceMain.read(env, StreamConfig::read);
    try (ClickHouse clickHouse = new ClickHouse(config.clickHouse())) {
      Migrations.apply(
          clickHouse,
          Migrations.plan(
              clickHouse, SchemaLayout.SINGLE_NODE, Migrations.tallyhouseTables().subList(0, 4)));
      SchemaVersion.BehindException behind =
          assertThrows(
              SchemaVersion.BehindException.class, () -> UsageStreamApp.start(config).close());
      List<Migrations.Migration> all = Migrations.tallyhouseTables();
      String latest = all.get(all.size() - 1).name().replaceFirst("\\.sql$", "");
      assertEquals(
          "ClickHouse database "
              + name
              + " is at migration 004_usage_daily_changes, this build needs "
              + latest
              + ": run `tallyhouse migrate` (make migrate)",
          behind.getMessage());
      clickHouse.execute("DROP DATABASE " + SqlLiteral.identifier(name));
    }
  }
}
