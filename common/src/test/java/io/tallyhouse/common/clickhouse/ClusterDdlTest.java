package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterDdlTest {

  private final ClusterDdl ddl = new ClusterDdl("prod", "th");

  @Test
  void aTableWithAccountIdBecomesReplicatedLocalTablesAndADistributedTableShardedByAccount() {
    List<String> statements =
        ddl.of(
            "CREATE TABLE IF NOT EXISTS usage_daily (\n  account_id String,\n  usage Decimal(38, 12),\n"
                + "  version UInt64\n) ENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(date)\n"
                + "ORDER BY (account_id, date)");
    assertEquals(
        List.of(
            "CREATE TABLE IF NOT EXISTS th.usage_daily_local ON CLUSTER prod (\n  account_id String,\n"
                + "  usage Decimal(38, 12),\n  version UInt64\n) ENGINE = ReplicatedReplacingMergeTree("
                + "'/clickhouse/tables/{shard}/th/usage_daily_local', '{replica}', version)\n"
                + "PARTITION BY toYYYYMM(date)\nORDER BY (account_id, date)",
            "CREATE TABLE IF NOT EXISTS th.usage_daily ON CLUSTER prod AS th.usage_daily_local"
                + " ENGINE = Distributed(prod, th, usage_daily_local, cityHash64(account_id))"),
        statements);
  }

  @Test
  void anEngineWithoutArgumentsGetsOnlyThePathAndReplica() {
    List<String> statements =
        ddl.of(
            "CREATE TABLE IF NOT EXISTS api_key_hashes (\n  account_id String,\n  api_key_hash String\n)"
                + " ENGINE = ReplacingMergeTree\nORDER BY (account_id, api_key_hash)");
    assertEquals(
        "CREATE TABLE IF NOT EXISTS th.api_key_hashes_local ON CLUSTER prod (\n  account_id String,\n"
            + "  api_key_hash String\n) ENGINE = ReplicatedReplacingMergeTree("
            + "'/clickhouse/tables/{shard}/th/api_key_hashes_local', '{replica}')\n"
            + "ORDER BY (account_id, api_key_hash)",
        statements.get(0));
  }

  @Test
  void aTableWithoutAccountIdIsReplicatedToEveryNodeUnderItsOwnName() {
    List<String> statements =
        ddl.of(
            "CREATE TABLE IF NOT EXISTS stream_generations (\n  kafka_cluster_id String,\n"
                + "  shard_base UInt16\n) ENGINE = MergeTree\nORDER BY (shard_base, kafka_cluster_id)");
    assertEquals(
        List.of(
            "CREATE TABLE IF NOT EXISTS th.stream_generations ON CLUSTER prod (\n"
                + "  kafka_cluster_id String,\n  shard_base UInt16\n) ENGINE = ReplicatedMergeTree("
                + "'/clickhouse/tables/all/th/stream_generations', '{shard}-{replica}')\n"
                + "ORDER BY (shard_base, kafka_cluster_id)"),
        statements);
  }

  @Test
  void aColumnMerelyEndingInAccountIdDoesNotShardTheTable() {
    List<String> statements =
        ddl.of(
            "CREATE TABLE IF NOT EXISTS t (other_account_id String) ENGINE = MergeTree ORDER BY"
                + " other_account_id");
    assertEquals(1, statements.size());
    assertTrue(statements.get(0).contains("/clickhouse/tables/all/th/t"), statements.get(0));
  }

  @Test
  void aMaterializedViewReadsAndWritesTheLocalTablesOfItsShard() {
    ddl.of(
        "CREATE TABLE IF NOT EXISTS usage_daily (account_id String, date Date) ENGINE ="
            + " ReplacingMergeTree ORDER BY account_id");
    ddl.of(
        "CREATE TABLE IF NOT EXISTS usage_daily_changes (\n  date Date,\n  account_id String,\n"
            + "  inserts UInt64\n) ENGINE = SummingMergeTree\nORDER BY (date, account_id)");
    assertEquals(
        List.of(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS th.usage_daily_changes_mv ON CLUSTER prod"
                + " TO th.usage_daily_changes_local\nAS SELECT date, account_id, count() AS inserts\n"
                + "FROM th.usage_daily_local\nGROUP BY date, account_id"),
        ddl.of(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_changes_mv TO usage_daily_changes\n"
                + "AS SELECT date, account_id, count() AS inserts\nFROM usage_daily\n"
                + "GROUP BY date, account_id"));
  }

  @Test
  void aViewOverATableNoMigrationCreatedIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ddl.of("CREATE MATERIALIZED VIEW IF NOT EXISTS v TO elsewhere AS SELECT 1 FROM x"));
    assertTrue(e.getMessage().contains("elsewhere"), e.getMessage());
  }

  @Test
  void aStatementOfAnUnknownShapeIsRefusedRatherThanRunOnOneNode() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ddl.of("ALTER TABLE usage_daily DROP COLUMN x"));
    assertTrue(e.getMessage().contains("extend ClusterDdl"), e.getMessage());
  }

  @Test
  void anAlterAddingAKeyColumnRunsOnTheLocalTablesAndTheDistributedOneIsCreatedAgainOverThem() {
    ddl.of(
        "CREATE TABLE IF NOT EXISTS usage_daily (account_id String, date Date) ENGINE ="
            + " ReplacingMergeTree ORDER BY (account_id, date)");
    assertEquals(
        List.of(
            "ALTER TABLE th.usage_daily_local ADD COLUMN workspace_id String AFTER"
                + " account_id, MODIFY ORDER BY (account_id, date, workspace_id)",
            "DROP TABLE IF EXISTS th.usage_daily ON CLUSTER prod",
            "CREATE TABLE IF NOT EXISTS th.usage_daily ON CLUSTER prod AS th.usage_daily_local"
                + " ENGINE = Distributed(prod, th, usage_daily_local, cityHash64(account_id))"),
        ddl.of(
            "ALTER TABLE usage_daily ADD COLUMN workspace_id String AFTER account_id,"
                + " MODIFY ORDER BY (account_id, date, workspace_id)"));
  }

  @Test
  void anAlterAddingAColumnAloneRunsOnClusterOnTheLocalTables() {
    ddl.of(
        "CREATE TABLE IF NOT EXISTS usage_events (account_id String) ENGINE = MergeTree ORDER BY"
            + " account_id");
    List<String> statements =
        ddl.of("ALTER TABLE usage_events ADD COLUMN w String DEFAULT 'default' AFTER account_id");
    assertEquals(
        List.of(
            "ALTER TABLE th.usage_events_local ON CLUSTER prod ADD COLUMN w String DEFAULT"
                + " 'default' AFTER account_id",
            "DROP TABLE IF EXISTS th.usage_events ON CLUSTER prod",
            "CREATE TABLE IF NOT EXISTS th.usage_events ON CLUSTER prod AS th.usage_events_local"
                + " ENGINE = Distributed(prod, th, usage_events_local, cityHash64(account_id))"),
        statements);
    assertFalse(ClusterDdl.onEveryShard(statements.get(0)));
    assertFalse(ClusterDdl.onEveryShard(statements.get(1)));
    assertFalse(ClusterDdl.onEveryShard(statements.get(2)));
    assertTrue(ClusterDdl.onEveryShard("ALTER TABLE th.usage_daily_local ADD COLUMN w String"));
  }

  @Test
  void anAlterOfATableOnEveryNodeRunsOnceAndZooKeeperCarriesItToEveryReplica() {
    ddl.of(
        "CREATE TABLE IF NOT EXISTS stream_generations (shard_base UInt16) ENGINE = MergeTree"
            + " ORDER BY shard_base");
    assertEquals(
        List.of(
            "ALTER TABLE th.stream_generations ADD COLUMN note String DEFAULT 'x', ADD COLUMN n"
                + " UInt8"),
        ddl.of(
            "ALTER TABLE stream_generations ADD COLUMN note String DEFAULT 'x', ADD COLUMN n"
                + " UInt8"));
  }

  @Test
  void anAlterOfAnotherKindOrOfAnUnknownTableIsRefused() {
    ddl.of(
        "CREATE TABLE IF NOT EXISTS usage_daily (account_id String) ENGINE = MergeTree ORDER BY"
            + " account_id");
    for (String statement :
        List.of(
            "ALTER TABLE usage_daily MODIFY ORDER BY (account_id)",
            "ALTER TABLE usage_daily ADD COLUMN x UInt8, DROP COLUMN y",
            "ALTER TABLE usage_daily ADD INDEX i x TYPE minmax GRANULARITY 1")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> ddl.of(statement));
      assertTrue(e.getMessage().contains("extend ClusterDdl"), e.getMessage());
    }
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> ddl.of("ALTER TABLE elsewhere ADD COLUMN x UInt8"));
    assertTrue(unknown.getMessage().contains("elsewhere"), unknown.getMessage());
  }

  @Test
  void anInsertSelectRunsOnceThroughTheDistributedTables() {
    ddl.of(
        "CREATE TABLE IF NOT EXISTS usage_daily (account_id String) ENGINE = MergeTree ORDER BY"
            + " account_id");
    ddl.of(
        "CREATE TABLE IF NOT EXISTS workspaces (account_id String, workspace_id String) ENGINE ="
            + " ReplacingMergeTree ORDER BY (account_id, workspace_id)");
    assertEquals(
        List.of(
            "INSERT INTO th.workspaces SELECT DISTINCT account_id, 'default' FROM th.usage_daily"),
        ddl.of("INSERT INTO workspaces SELECT DISTINCT account_id, 'default' FROM usage_daily"));
    assertThrows(
        IllegalArgumentException.class,
        () -> ddl.of("INSERT INTO workspaces SELECT account_id, 'x' FROM elsewhere"));
  }

  @Test
  void theClausesOfAnAlterSplitOutsideParentheses() {
    assertEquals(
        List.of("ADD COLUMN a Decimal(38, 12)", "MODIFY ORDER BY (x, y)"),
        ClusterDdl.topLevelClauses("ADD COLUMN a Decimal(38, 12), MODIFY ORDER BY (x, y)"));
  }

  @Test
  void everyMigrationOfThisBuildHasAClusterFormOnEveryNode() {
    List<String> all = new ArrayList<>();
    for (Migrations.Migration migration : Migrations.tallyhouseTables()) {
      migration.statements().forEach(s -> all.addAll(ddl.of(s)));
    }
    // Every statement runs on every node but the one INSERT ... SELECT, and the ALTER that adds
    // a key column (one node of every shard, see ClusterDdl).
    List<String> notOnCluster = all.stream().filter(s -> !s.contains(" ON CLUSTER prod")).toList();
    assertEquals(2, notOnCluster.size(), String.join("\n", notOnCluster));
    assertTrue(ClusterDdl.onEveryShard(notOnCluster.get(0)), notOnCluster.get(0));
    assertEquals(
        "INSERT INTO th.workspaces SELECT DISTINCT account_id, 'default' FROM th.usage_daily",
        notOnCluster.get(1));
    assertEquals(
        List.of(
            "usage_daily_local",
            "usage_daily",
            "api_key_hashes_local",
            "api_key_hashes",
            "usage_events_local",
            "usage_events",
            "usage_daily_changes_local",
            "usage_daily_changes",
            "usage_daily_changes_mv",
            "stream_generations",
            "usage_daily_local",
            "usage_daily",
            "usage_daily",
            "usage_events_local",
            "usage_events",
            "usage_events",
            "workspaces_local",
            "workspaces",
            "workspaces"),
        all.stream()
            .map(
                s ->
                    s.split("\\s+")[
                        s.startsWith("CREATE MATERIALIZED")
                            ? 6
                            : s.startsWith("CREATE") ? 5 : s.startsWith("DROP") ? 4 : 2])
            .map(name -> name.substring("th.".length()))
            .toList());
  }

  @Test
  void theLayoutNamesTheLocalTablesAndDdlOfItsNodes() {
    SchemaLayout cluster = SchemaLayout.cluster("prod");
    assertEquals("usage_events_local", cluster.localTable("usage_events"));
    assertEquals(" ON CLUSTER prod", cluster.onCluster());
    assertEquals("cluster('prod', 'system', 'parts')", cluster.everyShard("parts"));
    assertEquals("1", cluster.insertSettings().get("insert_distributed_sync"));
    assertEquals("tallyhouse migrate --cluster prod", cluster.migrateCommand());
    SchemaLayout single = SchemaLayout.SINGLE_NODE;
    assertEquals("usage_events", single.localTable("usage_events"));
    assertEquals("", single.onCluster());
    assertEquals("system.parts", single.everyShard("parts"));
    assertTrue(single.insertSettings().isEmpty());
    assertThrows(IllegalArgumentException.class, () -> SchemaLayout.cluster("prod; DROP"));
  }
}
