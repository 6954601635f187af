package io.tallyhouse.tools.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.Migrations.Migration;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.Cli;
import io.tallyhouse.tools.Cli.Run;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.TestDatabase;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** `tallyhouse migrate` on a single real ClickHouse node, as make migrate runs it. */
class MigrateCommandIntegrationTest {

  private final ClickHouseEndpoint ch = Infra.clickhouse();
  private final String name = TestDatabase.newName("mg");
  private final Map<String, String> env = TestDatabase.env(ch, name);
  private final ClickHouse clickHouse = TestDatabase.client(ch, name);

  @AfterEach
  void dropDatabase() {
    TestDatabase.drop(clickHouse, name);
  }

  @Test
  void fromNothingItCreatesEveryTableAndARerunAppliesNothing() {
    Run first = Cli.run(env, "migrate");
    assertEquals(ExitCodes.OK, first.code(), first.toString());
    for (Migration migration : Migrations.tallyhouseTables()) {
      assertTrue(first.out().contains("applied " + migration.name() + "\n"), first.toString());
    }
    assertTrue(
        first.out().endsWith("is at 006_workspaces.sql: applied 6 migration(s)\n"),
        first.toString());
    assertEquals(
        List.of(
            "api_key_hashes",
            "schema_migrations",
            "stream_generations",
            "usage_daily",
            "usage_daily_changes",
            "usage_daily_changes_mv",
            "usage_events",
            "workspaces"),
        tables());
    assertEquals(SchemaLayout.SINGLE_NODE, SchemaVersion.require(clickHouse));

    Run again = Cli.run(env, "migrate");
    assertEquals(ExitCodes.OK, again.code(), again.toString());
    assertEquals(
        "ClickHouse database "
            + name
            + " at "
            + ch.httpUrl()
            + " (single node) is at 006_workspaces.sql: nothing to apply\n",
        again.out());
    assertEquals(
        6, clickHouse.query("SELECT version FROM schema_migrations").size(), "recorded once each");
  }

  @Test
  void aDatabaseOfAnEarlierBuildWithRowsIsUpgradedAndItsTotalsStay() {
    // What a build before the migrate command left behind: its own schema_migrations (no layout
    // column), migrations 001-004, and counted usage.
    clickHouse.createDatabaseIfMissing();
    clickHouse.execute(
        "CREATE TABLE schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT"
            + " now()) ENGINE = MergeTree ORDER BY version");
    for (Migration migration : Migrations.tallyhouseTables().subList(0, 4)) {
      migration.statements().forEach(clickHouse::execute);
      clickHouse.execute(
          "INSERT INTO schema_migrations (version, name) VALUES ("
              + migration.version()
              + ", "
              + SqlLiteral.string(migration.name())
              + ")");
    }
    clickHouse.execute(
        "INSERT INTO usage_daily (account_id, date, api_key_hash, user_id, endpoint_id, model,"
            + " model_permaslug, provider_name, shard, requests, usage, version, updated_at) VALUES"
            + " ('acme', '2026-11-01', 'k', '', 'e', 'm', 'm', 'p', 0, 3, 0.000000000003, 3, now()),"
            + " ('acme', '2026-11-01', 'k', '', 'e', 'm', 'm', 'p', 0, 2, 0.000000000002, 2, now()),"
            + " ('beta', '2026-11-02', 'k', 'u', 'e', 'm', 'm', 'p', 1, 1, 12.5, 1, now())");
    String before = totals();

    Run refused = Cli.run(env, "migrate", "--cluster", "prod");
    assertEquals(ExitCodes.USAGE, refused.code(), refused.toString());
    assertTrue(refused.err().contains("knows no cluster named prod"), refused.toString());

    Run dryRun = Cli.run(env, "migrate", "--dry-run");
    assertEquals(ExitCodes.OK, dryRun.code(), dryRun.toString());
    assertTrue(
        dryRun.out().contains("would run: ALTER TABLE schema_migrations ADD COLUMN cluster"),
        dryRun.toString());
    assertTrue(dryRun.out().contains("would apply 005_stream_generations.sql:"), dryRun.toString());
    assertFalse(dryRun.out().contains("004_usage_daily_changes"), dryRun.toString());
    assertFalse(tables().contains("stream_generations"), "a dry run changes nothing");

    Run upgrade = Cli.run(env, "migrate");
    assertEquals(ExitCodes.OK, upgrade.code(), upgrade.toString());
    assertTrue(
        upgrade
            .out()
            .startsWith("applied 005_stream_generations.sql\napplied 006_workspaces.sql\n"),
        upgrade.toString());
    assertEquals(before, totals(), "the rows counted before the upgrade are untouched");
    assertEquals(SchemaLayout.SINGLE_NODE, SchemaVersion.require(clickHouse));
    assertEquals(
        List.of("", "", "", "", "", ""),
        clickHouse.query("SELECT cluster FROM schema_migrations ORDER BY version").stream()
            .map(row -> row.get("cluster").asText())
            .toList(),
        "every migration recorded as applied on a single node");
  }

  @Test
  void aDryRunOnNothingPrintsEveryStatementAndCreatesNothing() {
    Run dryRun = Cli.run(env, "migrate", "--dry-run");
    assertEquals(ExitCodes.OK, dryRun.code(), dryRun.toString());
    assertTrue(dryRun.out().startsWith("would run: CREATE DATABASE IF NOT EXISTS " + name + ";\n"));
    for (Migration migration : Migrations.tallyhouseTables()) {
      assertTrue(dryRun.out().contains("would apply " + migration.name() + ":\n"), dryRun.out());
    }
    assertTrue(dryRun.out().contains("  CREATE TABLE IF NOT EXISTS usage_daily ("), dryRun.out());
    assertTrue(dryRun.out().endsWith("nothing was changed (--dry-run)\n"), dryRun.out());
    assertTrue(
        clickHouse
            .querySystem(
                "SELECT name FROM system.databases WHERE name = " + SqlLiteral.string(name))
            .isEmpty(),
        "no database created");
  }

  @Test
  void aClickHouseThatDoesNotAnswerIsExitCode3() {
    Map<String, String> nowhere = new HashMap<>(env);
    nowhere.put("CLICKHOUSE_URL", "http://127.0.0.1:1");
    Run failed = Cli.run(nowhere, "migrate");
    assertEquals(ExitCodes.UNAVAILABLE, failed.code(), failed.toString());
    assertTrue(failed.err().contains("check CLICKHOUSE_URL"), failed.toString());
  }

  private List<String> tables() {
    return clickHouse
        .querySystem(
            "SELECT name FROM system.tables WHERE database = "
                + SqlLiteral.string(name)
                + " ORDER BY name")
        .stream()
        .map(row -> row.get("name").asText())
        .toList();
  }

  /** Requests and usage per account, as readers sum them. */
  private String totals() {
    return clickHouse
        .query(
            "SELECT account_id, sum(requests) AS requests, toString(sum(usage)) AS usage"
                + " FROM usage_daily FINAL GROUP BY account_id ORDER BY account_id")
        .toString();
  }
}
