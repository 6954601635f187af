package io.tallyhouse.common.clickhouse;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where and how to reach ClickHouse.
 *
 * @param url HTTP(S) endpoint, e.g. {@code http://127.0.0.1:8123} or {@code https://ch:8443}
 * @param database the database holding the Tallyhouse tables
 * @param caCertificate a PEM file with the certificate(s) that sign the server's certificate over
 *     https, or null to trust the JVM's default certificate authorities
 */
public record ClickHouseConfig(
    String url,
    String user,
    String password,
    String database,
    Duration timeout,
    Path caCertificate) {

  public ClickHouseConfig {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("CLICKHOUSE_URL is required");
    }
    SqlLiteral.identifier(database);
    user = user == null || user.isEmpty() ? "default" : user;
    password = password == null ? "" : password;
    timeout = timeout == null ? Duration.ofSeconds(30) : timeout;
  }

  public ClickHouseConfig(
      String url, String user, String password, String database, Duration timeout) {
    this(url, user, password, database, timeout, null);
  }

  public ClickHouseConfig(String url, String user, String password, String database) {
    this(url, user, password, database, null, null);
  }

  /** The password never appears: records print their components. */
  @Override
  public String toString() {
    return "ClickHouseConfig[url="
        + url
        + ", user="
        + user
        + ", database="
        + database
        + ", timeout="
        + timeout
        + ", caCertificate="
        + caCertificate
        + "]";
  }

  public boolean tls() {
    return url.regionMatches(true, 0, "https:", 0, 6);
  }
}
