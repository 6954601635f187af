package io.tallyhouse.tools.migrate;

import static io.tallyhouse.tools.migrate.UpgradeScenario.awaitEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.Migrations.Migration;
import io.tallyhouse.common.clickhouse.Migrations.Plan;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.Cli;
import io.tallyhouse.tools.Cli.Run;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.TestDatabase;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Upgrading a single node that holds usage from migration 005 to 006 (workspaces) with `tallyhouse
 * migrate`, after a first attempt that stopped half-way: every total stays exact, the old rows are
 * in the default workspace, and the stream's rows written after the upgrade replace or add beside
 * them as their workspace says. (MigrateClusterIntegrationTest runs the same on a cluster.)
 */
class MigrationUpgradeIntegrationTest {

  private final ClickHouseEndpoint ch = Infra.clickhouse();
  private final String name = TestDatabase.newName("up");
  private final ClickHouse clickHouse = TestDatabase.client(ch, name);

  @AfterEach
  void dropDatabase() {
    TestDatabase.drop(clickHouse, name);
  }

  @Test
  void aDatabaseWithUsageIsMigratedTo006AfterAnInterruptedAttemptAndKeepsEveryTotal()
      throws Exception {
    UpgradeScenario scenario = new UpgradeScenario(clickHouse, SchemaLayout.SINGLE_NODE);
    scenario.migrateTo005();
    scenario.writeRowsOfBeforeTheUpgrade();
    String before = scenario.expectedTotals();
    assertEquals(before, scenario.totals(), "the fixture sums as computed");

    // A first migrate that stopped after 006's first statement: usage_daily has its column and
    // key, nothing else happened, and 006 is not recorded.
    List<String> statements = scenario.statementsOf006();
    clickHouse.execute(statements.get(0));

    Run upgrade = Cli.run(TestDatabase.env(ch, name), "migrate");
    assertEquals(ExitCodes.OK, upgrade.code(), upgrade.toString());
    assertTrue(upgrade.out().startsWith("applied 006_workspaces.sql\n"), upgrade.toString());

    // And 006 once more, whole (as when recording it failed): nothing changes.
    Migration again = new Migration(6, "006_workspaces.sql", statements);
    Migrations.apply(clickHouse, new Plan(SchemaLayout.SINGLE_NODE, List.of(), List.of(again), 1));

    assertUpgraded(scenario, List.of(scenario), before);
    assertEquals(
        "(account_id, date, api_key_hash, user_id, endpoint_id, model, model_permaslug,"
            + " provider_name, shard, workspace_id)",
        clickHouse
            .querySystem(
                "SELECT sorting_key FROM system.tables WHERE database = "
                    + SqlLiteral.string(name)
                    + " AND name = 'usage_daily'")
            .stream()
            .map(row -> "(" + row.get("sorting_key").asText() + ")")
            .findFirst()
            .orElse("no usage_daily"),
        "workspace_id is the last column of the sorting key");
  }

  /**
   * What 006 must leave of {@code writer}'s rows, read through each of {@code readers} (every node
   * of a cluster), and how rows written after it count; shared with the cluster test.
   */
  static void assertUpgraded(UpgradeScenario writer, List<UpgradeScenario> readers, String before)
      throws Exception {
    int days = UpgradeScenario.DAYS.size();
    for (UpgradeScenario reader : readers) {
      awaitEquals("totals per account and day after 006", before, reader::totals);
      awaitEquals(
          "old usage_daily rows in the default workspace",
          Workspaces.DEFAULT + "\t" + (UpgradeScenario.ACCOUNTS * days * 3) + "\n",
          reader::shownDailyWorkspaces);
      awaitEquals(
          "old usage_events rows in the default workspace",
          Workspaces.DEFAULT + "\t" + (UpgradeScenario.ACCOUNTS * days) + "\n",
          reader::eventWorkspaces);
      awaitEquals(
          "every account with usage reported the default workspace",
          UpgradeScenario.everyAccountInDefault(),
          reader::workspaces);
      awaitEquals(
          "api_key_hashes untouched", UpgradeScenario.everyAccountsKey(), reader::apiKeyHashes);
    }
    writer.writeRowsOfAfterTheUpgrade();
    for (UpgradeScenario reader : readers) {
      awaitEquals(
          "a default-workspace row replaces its old group, another workspace's adds",
          writer.expectedTotals(),
          reader::totals);
    }
  }
}
