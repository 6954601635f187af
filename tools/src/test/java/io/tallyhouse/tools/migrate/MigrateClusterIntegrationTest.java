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
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.ClickHouseCluster;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.tools.Cli;
import io.tallyhouse.tools.Cli.Run;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.TestDatabase;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `tallyhouse migrate --cluster` on 2 shards x 2 replicas: the schema from nothing, a no-op rerun,
 * the version check answered by every node, and rows inserted through the Distributed tables kept
 * whole per account on one shard and read back exactly from any node.
 */
class MigrateClusterIntegrationTest {

  private static final String CLUSTER = "tally";
  private static final String DATABASE = "th_cluster";
  private static final Duration REPLICATION = Duration.ofMinutes(2);

  @TempDir static Path dir;
  private static ClickHouseCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = ClickHouseCluster.start(dir, CLUSTER, 2, 2);
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void migrateCreatesTheClusterSchemaThatEveryNodeAndTheWritersAgreeWith() throws Exception {
    // The nodes listen on ports of their own, so the default (each shard's first replica on the
    // entry node's port) reaches shard 1 twice: refused before anything changes.
    Run unreachable = Cli.run(env(cluster.node(1, 1)), "migrate", "--cluster", CLUSTER);
    assertEquals(ExitCodes.USAGE, unreachable.code(), unreachable.toString());
    assertTrue(unreachable.err().contains("--shard-url"), unreachable.toString());
    try (ClickHouse entry = client(cluster.node(1, 1))) {
      assertTrue(
          entry
              .querySystem("SELECT name FROM system.databases WHERE name = '" + DATABASE + "'")
              .isEmpty(),
          "nothing created");
    }

    Run dryRun = Cli.run(env(cluster.node(1, 1)), "migrate", "--cluster", CLUSTER, "--dry-run");
    assertEquals(ExitCodes.OK, dryRun.code(), dryRun.toString());
    assertTrue(
        dryRun
            .out()
            .contains(
                "  -- on one node of every shard (--shard-url):\n  ALTER TABLE "
                    + DATABASE
                    + ".usage_daily_local ADD COLUMN workspace_id"),
        dryRun.toString());

    Run created = migrateCluster(cluster.node(1, 1), DATABASE);
    assertEquals(ExitCodes.OK, created.code(), created.toString());
    for (Migration migration : Migrations.tallyhouseTables()) {
      assertTrue(created.out().contains("applied " + migration.name() + "\n"), created.toString());
    }

    // Recorded with a quorum of every node: each answers the services' check at once.
    for (ClickHouseServer node : cluster.nodes()) {
      try (ClickHouse clickHouse = client(node)) {
        assertEquals(
            SchemaLayout.cluster(CLUSTER), SchemaVersion.require(clickHouse), node.httpUrl());
        assertEquals(
            List.of(
                "api_key_hashes:Distributed",
                "api_key_hashes_local:ReplicatedReplacingMergeTree",
                "schema_migrations:ReplicatedMergeTree",
                "stream_generations:ReplicatedMergeTree",
                "usage_daily:Distributed",
                "usage_daily_changes:Distributed",
                "usage_daily_changes_local:ReplicatedSummingMergeTree",
                "usage_daily_changes_mv:MaterializedView",
                "usage_daily_local:ReplicatedReplacingMergeTree",
                "usage_events:Distributed",
                "usage_events_local:ReplicatedReplacingMergeTree",
                "workspaces:Distributed",
                "workspaces_local:ReplicatedReplacingMergeTree"),
            clickHouse
                .querySystem(
                    "SELECT name, engine FROM system.tables WHERE database = "
                        + SqlLiteral.string(DATABASE)
                        + " ORDER BY name")
                .stream()
                .map(row -> row.get("name").asText() + ":" + row.get("engine").asText())
                .toList(),
            node.httpUrl());
      }
    }

    Run again = Cli.run(env(cluster.node(2, 2)), "migrate", "--cluster", CLUSTER);
    assertEquals(ExitCodes.OK, again.code(), again.toString());
    assertTrue(again.out().endsWith(": nothing to apply\n"), again.toString());

    Run otherLayout = Cli.run(env(cluster.node(2, 1)), "migrate");
    assertEquals(ExitCodes.USAGE, otherLayout.code(), otherLayout.toString());
    assertTrue(
        otherLayout.err().contains("was migrated for a cluster tally, not a single node"),
        otherLayout.toString());

    // Rows as the writer sends them: through the Distributed table, each insert returning once
    // every shard has its rows. 40 accounts, two versions of every account's first row.
    TreeMap<String, String> expected = new TreeMap<>();
    try (ClickHouse writer = client(cluster.node(1, 2))) {
      SchemaLayout layout = SchemaVersion.require(writer);
      writer.insertTabSeparated(
          "usage_daily",
          UpgradeScenario.DAILY,
          rows(1, "0.000000000001").inputStream(),
          layout.insertSettings());
      writer.insertTabSeparated(
          "usage_daily",
          UpgradeScenario.DAILY,
          rows(2, "1.5").inputStream(),
          layout.insertSettings());
      for (int a = 0; a < 40; a++) {
        // Version 2 of group g0 replaces version 1; group g1 stays at version 1.
        expected.put(
            account(a),
            (3 * (a + 1))
                + "\t"
                + new BigDecimal("1.5")
                    .add(new BigDecimal("0.000000000001"))
                    .multiply(BigDecimal.valueOf(a + 1))
                    .setScale(12)
                    .toPlainString());
      }
    }
    String totals = toText(expected);
    for (ClickHouseServer node : cluster.nodes()) {
      try (ClickHouse reader = client(node)) {
        awaitEquals("the totals read through " + node.httpUrl(), totals, () -> totals(reader));
        // A marker per row and insert: 80 rows, then 40.
        awaitEquals(
            "the change markers read through " + node.httpUrl(), 120L, () -> markers(reader));
      }
    }
    Set<String> shard1 = accountsOnShard(cluster.node(1, 1));
    Set<String> shard2 = accountsOnShard(cluster.node(2, 1));
    assertFalse(shard1.isEmpty() || shard2.isEmpty(), shard1 + " / " + shard2);
    Set<String> both = new HashSet<>(shard1);
    both.retainAll(shard2);
    assertTrue(both.isEmpty(), "accounts on both shards: " + both);
    assertEquals(expected.keySet(), union(shard1, shard2));
  }

  @Test
  void aClusterWithUsageIsMigratedTo006AfterAnInterruptedAttemptAndKeepsEveryTotal()
      throws Exception {
    String database = "th_upgrade";
    ClickHouseServer entry = cluster.node(1, 1);
    try (ClickHouse clickHouse = client(entry, database)) {
      UpgradeScenario scenario = new UpgradeScenario(clickHouse, SchemaLayout.cluster(CLUSTER));
      scenario.migrateTo005();
      scenario.writeRowsOfBeforeTheUpgrade();
      String before = scenario.expectedTotals();
      UpgradeScenario.awaitEquals("the fixture sums as computed", before, scenario::totals);

      // A first migrate that stopped after 006's first statement (the ALTER of the local tables)
      // had run on shard 1 only.
      clickHouse.execute(scenario.statementsOf006().get(0));

      Run upgrade = migrateCluster(entry, database);
      assertEquals(ExitCodes.OK, upgrade.code(), upgrade.toString());
      assertTrue(upgrade.out().startsWith("applied 006_workspaces.sql\n"), upgrade.toString());
      List<ClickHouse> readers =
          cluster.nodes().stream().map(node -> client(node, database)).toList();
      try {
        MigrationUpgradeIntegrationTest.assertUpgraded(
            scenario,
            readers.stream()
                .map(reader -> new UpgradeScenario(reader, SchemaLayout.cluster(CLUSTER)))
                .toList(),
            before);
      } finally {
        readers.forEach(ClickHouse::close);
      }
    }
  }

  /** `tallyhouse migrate --cluster` through {@code entry}, naming a node of every shard. */
  private static Run migrateCluster(ClickHouseServer entry, String database) {
    return Cli.run(
        TestDatabase.env(entry, database),
        "migrate",
        "--cluster",
        CLUSTER,
        "--shard-url",
        cluster.node(1, 2).httpUrl(),
        "--shard-url",
        cluster.node(2, 1).httpUrl());
  }

  /** Waits for {@code actual} to equal {@code expected}, then asserts it (showing both if not). */
  private static void awaitEquals(String what, Object expected, Supplier<Object> actual)
      throws InterruptedException {
    try {
      Await.until(what, () -> expected.equals(actual.get()), REPLICATION);
    } catch (AssertionError e) {
      assertEquals(expected, actual.get(), e.getMessage());
    }
  }

  /**
   * For every account a: group g0 at {@code version} with (a+1)*version requests and usage
   * (a+1)*g0Usage; group g1 (version 1 only) with a+1 requests and usage (a+1)*0.000000000001.
   */
  private static TabSeparated rows(int version, String g0Usage) {
    TabSeparated rows = new TabSeparated(4096);
    for (int a = 0; a < 40; a++) {
      long n = a + 1;
      row(
          rows,
          account(a),
          "g0",
          n * version,
          new BigDecimal(g0Usage).multiply(BigDecimal.valueOf(n)),
          version);
      if (version == 1) {
        row(
            rows,
            account(a),
            "g1",
            n,
            new BigDecimal("0.000000000001").multiply(BigDecimal.valueOf(n)),
            1);
      }
    }
    return rows;
  }

  private static void row(
      TabSeparated rows,
      String account,
      String group,
      long requests,
      BigDecimal usage,
      int version) {
    rows.string(account)
        .date(LocalDate.of(2026, 11, 1))
        .string("k")
        .string("")
        .string(group)
        .string("m")
        .string("m")
        .string("p")
        .number(0)
        .number(requests)
        .decimal(usage)
        .number(version)
        .dateTime(1_790_000_000L)
        .endRow();
  }

  private static String account(int a) {
    return "acct-" + a;
  }

  private static String totals(ClickHouse clickHouse) {
    StringBuilder text = new StringBuilder();
    clickHouse
        .query(
            "SELECT account_id, sum(requests) AS requests, toString(sum(usage)) AS usage"
                + " FROM usage_daily FINAL GROUP BY account_id ORDER BY account_id")
        .forEach(
            row ->
                text.append(row.get("account_id").asText())
                    .append('\t')
                    .append(row.get("requests").asText())
                    .append('\t')
                    .append(row.get("usage").asText())
                    .append('\n'));
    return text.toString();
  }

  private static String toText(TreeMap<String, String> expected) {
    StringBuilder text = new StringBuilder();
    expected.forEach(
        (account, totals) -> text.append(account).append('\t').append(totals).append('\n'));
    return text.toString();
  }

  private static long markers(ClickHouse clickHouse) {
    return clickHouse
        .query("SELECT sum(inserts) AS n FROM usage_daily_changes")
        .get(0)
        .get("n")
        .asLong();
  }

  private static Set<String> accountsOnShard(ClickHouseServer node) {
    try (ClickHouse clickHouse = client(node)) {
      Set<String> accounts = new HashSet<>();
      clickHouse
          .query("SELECT DISTINCT account_id FROM usage_daily_local")
          .forEach(row -> accounts.add(row.get("account_id").asText()));
      return accounts;
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new java.util.TreeSet<>(a);
    all.addAll(b);
    return all;
  }

  private static ClickHouse client(ClickHouseServer node) {
    return client(node, DATABASE);
  }

  private static ClickHouse client(ClickHouseServer node, String database) {
    return TestDatabase.client(node, database);
  }

  private static Map<String, String> env(ClickHouseServer node) {
    return TestDatabase.env(node, DATABASE);
  }
}
