package io.tallyhouse.query;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import java.nio.file.Path;
import java.util.Map;

/**
 * Configuration of activity-query.
 *
 * @param host the address the HTTP server binds ({@code HTTP_HOST}, default {@code 127.0.0.1})
 * @param port the HTTP port ({@code HTTP_PORT}, default 8081; 0 picks a free port)
 * @param keysFile the key file of management keys ({@code KEYS_FILE}, default {@code .run/keys.jsonl})
 * @param clickHouse where the rollups are ({@code CLICKHOUSE_*})
 */
public record QueryConfig(String host, int port, Path keysFile, ClickHouseConfig clickHouse) {

  public QueryConfig {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("HTTP_HOST must not be empty");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("HTTP_PORT must be 0-65535, got: " + port);
    }
    if (keysFile == null) {
      throw new IllegalArgumentException("KEYS_FILE is required");
    }
    if (clickHouse == null) {
      throw new IllegalArgumentException("ClickHouse config is required");
    }
  }

  /** From {@code HTTP_HOST}, {@code HTTP_PORT}, {@code KEYS_FILE} and the {@code CLICKHOUSE_*} variables. */
  public static QueryConfig fromEnv(Map<String, String> env) {
    String portText = env.getOrDefault("HTTP_PORT", "8081").trim();
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("HTTP_PORT must be a number, got: " + portText, e);
    }
    return new QueryConfig(
        env.getOrDefault("HTTP_HOST", "127.0.0.1"),
        port,
        Path.of(env.getOrDefault("KEYS_FILE", ".run/keys.jsonl")),
        ClickHouseConfig.fromEnv(env));
  }
}
