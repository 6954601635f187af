package io.tallyhouse.query;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.config.EnvNumbers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Configuration of activity-query.
 *
 * @param host the address the HTTP server binds ({@code HTTP_HOST}, default {@code 127.0.0.1})
 * @param port the HTTP port ({@code HTTP_PORT}, default 8081; 0 picks a free port)
 * @param keysFile the key file of management keys ({@code KEYS_FILE}, default {@code .run/keys.jsonl})
 * @param clickHouse where the rollups are ({@code CLICKHOUSE_*})
 * @param cacheMaxRows weight of completed days kept in memory, in rows of about 100 bytes ({@code CACHE_MAX_ROWS},
 *     default 4 000 000, so about 400 MB; 0 turns the cache off and every request reads ClickHouse)
 * @param cachePollInterval how often the cache reads the change markers ({@code CACHE_POLL_INTERVAL_MS}, default 1000)
 */
public record QueryConfig(String host, int port, Path keysFile, ClickHouseConfig clickHouse, long cacheMaxRows,
    Duration cachePollInterval) {

  public static final long DEFAULT_CACHE_MAX_ROWS = 4_000_000;
  public static final Duration DEFAULT_CACHE_POLL_INTERVAL = Duration.ofSeconds(1);

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
    if (cacheMaxRows < 0) {
      throw new IllegalArgumentException("CACHE_MAX_ROWS must be 0 or more, got: " + cacheMaxRows);
    }
    if (cachePollInterval == null || cachePollInterval.toMillis() < 1) {
      throw new IllegalArgumentException("CACHE_POLL_INTERVAL_MS must be 1 or more, got: " + cachePollInterval);
    }
  }

  /** Without the cache settings: the defaults. */
  public QueryConfig(String host, int port, Path keysFile, ClickHouseConfig clickHouse) {
    this(host, port, keysFile, clickHouse, DEFAULT_CACHE_MAX_ROWS, DEFAULT_CACHE_POLL_INTERVAL);
  }

  /**
   * From {@code HTTP_HOST}, {@code HTTP_PORT}, {@code KEYS_FILE}, {@code CACHE_MAX_ROWS}, {@code CACHE_POLL_INTERVAL_MS}
   * and the {@code CLICKHOUSE_*} variables.
   */
  public static QueryConfig fromEnv(Map<String, String> env) {
    return new QueryConfig(
        env.getOrDefault("HTTP_HOST", "127.0.0.1"),
        EnvNumbers.port(env, "HTTP_PORT", 8081),
        Path.of(env.getOrDefault("KEYS_FILE", ".run/keys.jsonl")),
        ClickHouseConfig.fromEnv(env),
        EnvNumbers.number(env, "CACHE_MAX_ROWS", DEFAULT_CACHE_MAX_ROWS, 0, Long.MAX_VALUE),
        Duration.ofMillis(
            EnvNumbers.positiveLong(env, "CACHE_POLL_INTERVAL_MS", DEFAULT_CACHE_POLL_INTERVAL.toMillis())));
  }
}
