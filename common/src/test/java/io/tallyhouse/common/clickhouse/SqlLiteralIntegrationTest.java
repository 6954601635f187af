package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile values survive a round trip through the real server unchanged: the literal never breaks
 * out.
 */
class SqlLiteralIntegrationTest {

  private static ClickHouse clickHouse;

  @BeforeAll
  static void connect() {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), "sql_literal_test"));
    clickHouse.createDatabaseIfMissing();
    clickHouse.execute(
        "CREATE TABLE IF NOT EXISTS secrets (v String) ENGINE = MergeTree ORDER BY v");
    clickHouse.execute("INSERT INTO secrets (v) VALUES ('must not leak')");
  }

  @AfterAll
  static void close() {
    clickHouse.execute("DROP DATABASE IF EXISTS sql_literal_test");
    clickHouse.close();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "plain",
        "it's",
        "\\",
        "\\'",
        "'",
        "''",
        "' OR 1=1 --",
        "'; DROP TABLE secrets; --",
        "x' UNION SELECT v FROM secrets --",
        "/* comment */",
        "line\nbreak",
        "tab\tand\rcarriage",
        "\\n is not a newline",
        "ümlaut 漢字 😀",
        "\\x41",
        "%s %d"
      })
  void hostileValueRoundTripsExactly(String value) {
    List<com.fasterxml.jackson.databind.JsonNode> rows =
        clickHouse.query(
            "SELECT "
                + SqlLiteral.string(value)
                + " AS echoed, (SELECT count() FROM secrets WHERE v = "
                + SqlLiteral.string(value)
                + ") AS n");
    assertEquals(1, rows.size());
    assertEquals(value, rows.get(0).get("echoed").asText());
    assertEquals("0", rows.get(0).get("n").asText(), "the literal matched a row it must not match");
  }

  @org.junit.jupiter.api.Test
  void statementsRunInTheConfiguredDatabase() {
    // 18.16 ignores the database header; every statement must still land in our database, not in
    // default.
    assertEquals(
        "sql_literal_test",
        clickHouse.query("SELECT currentDatabase() AS db").get(0).get("db").asText());
    assertEquals(
        "1",
        clickHouse
            .query(
                "SELECT count() AS n FROM system.tables WHERE database = 'sql_literal_test'"
                    + " AND name = 'secrets'")
            .get(0)
            .get("n")
            .asText());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 10_000})
  void longValuesRoundTrip(int length) {
    String value = "'\\".repeat(length);
    List<com.fasterxml.jackson.databind.JsonNode> rows =
        clickHouse.query("SELECT " + SqlLiteral.string(value) + " AS v");
    assertEquals(value, rows.get(0).get("v").asText());
  }
}
