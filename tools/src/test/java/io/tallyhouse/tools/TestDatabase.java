package io.tallyhouse.tools;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import java.util.Map;
import java.util.UUID;

/** A database of its own on a real ClickHouse for one test, and how the tools are pointed at it. */
public final class TestDatabase {

  private TestDatabase() {}

  /** A database name no other test uses: {@code prefix_} and 12 random hex digits. */
  public static String newName(String prefix) {
    return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  /** A client of {@code database} on {@code server}. */
  public static ClickHouse client(ClickHouseEndpoint server, String database) {
    return new ClickHouse(
        new ClickHouseConfig(server.httpUrl(), server.user(), server.password(), database));
  }

  /**
   * The environment that points a {@code tallyhouse} command at {@code database} on {@code server}.
   */
  public static Map<String, String> env(ClickHouseEndpoint server, String database) {
    return Map.of(
        "CLICKHOUSE_URL",
        server.httpUrl(),
        "CLICKHOUSE_USER",
        server.user(),
        "CLICKHOUSE_PASSWORD",
        server.password(),
        "CLICKHOUSE_DATABASE",
        database);
  }

  /** Drops {@code database} and closes {@code clickHouse}, its client. */
  public static void drop(ClickHouse clickHouse, String database) {
    clickHouse.executeOutsideDatabase("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(database));
    clickHouse.close();
  }
}
