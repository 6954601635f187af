package io.tallyhouse.common.clickhouse;

import java.time.Duration;

/**
 * Where and how to reach ClickHouse.
 *
 * @param url HTTP endpoint, e.g. {@code http://127.0.0.1:8123}
 * @param database the database holding the Tallyhouse tables
 */
public record ClickHouseConfig(
    String url, String user, String password, String database, Duration timeout) {

  public ClickHouseConfig {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("CLICKHOUSE_URL is required");
    }
    SqlLiteral.identifier(database);
    user = user == null || user.isEmpty() ? "default" : user;
    password = password == null ? "" : password;
    timeout = timeout == null ? Duration.ofSeconds(30) : timeout;
  }

  public ClickHouseConfig(String url, String user, String password, String database) {
    this(url, user, password, database, null);
  }
}
