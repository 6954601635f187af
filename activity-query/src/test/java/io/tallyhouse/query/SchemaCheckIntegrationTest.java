package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.time.Clock;
import org.junit.jupiter.api.Test;

/**
 * activity-query never makes the schema: it refuses to start on a database that `tallyhouse
 * migrate` has not brought to this build's schema, and says what to run.
 */
class SchemaCheckIntegrationTest {

  private final ClickHouseEndpoint endpoint = Infra.clickhouse();
  private final String database = QueryTestEnv.newDatabase("aqschema");

  @Test
  void aDatabaseBehindThisBuildIsRefusedSayingWhatToRun() throws Exception {
    CredentialStore keys = QueryTestEnv.newKeyStore("activity-query-schema");
    ClickHouse clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));
    try {
      SchemaVersion.BehindException missing =
          assertThrows(SchemaVersion.BehindException.class, () -> start(keys));
      assertEquals(
          "ClickHouse database "
              + database
              + " does not exist, this build needs 006_workspaces: run `tallyhouse"
              + " migrate` (make migrate; with --cluster NAME on a ClickHouse cluster)",
          missing.getMessage());

      Migrations.apply(
          clickHouse,
          Migrations.plan(
              clickHouse, SchemaLayout.SINGLE_NODE, Migrations.tallyhouseTables().subList(0, 4)));
      SchemaVersion.BehindException behind =
          assertThrows(SchemaVersion.BehindException.class, () -> start(keys));
      assertEquals(
          "ClickHouse database "
              + database
              + " is at migration 004_usage_daily_changes, this build needs"
              + " 006_workspaces: run `tallyhouse migrate` (make migrate)",
          behind.getMessage());

      Migrations.apply(clickHouse);
      start(keys).close();
    } finally {
      QueryTestEnv.dropDatabase(clickHouse, database);
    }
  }

  private ActivityServer start(CredentialStore keys) {
    return ActivityServer.start(
        QueryTestEnv.config(
            QueryTestEnv.unmigrated(endpoint.httpUrl(), endpoint, database, keys.file())),
        Clock.systemUTC());
  }
}
