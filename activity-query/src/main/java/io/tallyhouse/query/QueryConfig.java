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
 * @param cacheMaxBytes estimated bytes of completed days kept in memory ({@code CACHE_MAX_BYTES}, default a quarter of
 *     the maximum heap; 0 turns the cache off and every request reads ClickHouse)
 * @param cachePollInterval how often the cache reads the change markers ({@code CACHE_POLL_INTERVAL_MS}, default 1000)
 * @param activityMaxItems the most items one {@code /api/v1/activity} answer may have ({@code ACTIVITY_MAX_ITEMS},
 *     default 100 000); a larger answer is refused with 400
 * @param exports the limits of concurrent exports
 */
public record QueryConfig(String host, int port, Path keysFile, ClickHouseConfig clickHouse, long cacheMaxBytes,
    Duration cachePollInterval, int activityMaxItems, ExportLimits exports) {

  public static final Duration DEFAULT_CACHE_POLL_INTERVAL = Duration.ofSeconds(1);
  public static final int DEFAULT_ACTIVITY_MAX_ITEMS = 100_000;
  public static final int DEFAULT_EXPORT_MAX_PER_ACCOUNT = 2;
  public static final int DEFAULT_EXPORT_MAX_TOTAL = 8;
  public static final Duration DEFAULT_EXPORT_STALL_TIMEOUT = Duration.ofSeconds(60);

  /**
   * Concurrent exports: an export takes a slot before it reads ClickHouse; beyond either limit it is 429.
   *
   * @param perAccount exports of one account at once ({@code EXPORT_MAX_PER_ACCOUNT}, default 2)
   * @param total exports of all accounts at once ({@code EXPORT_MAX_TOTAL}, default 8)
   * @param stallTimeout how long a CSV export may wait for its client to take more bytes before it is ended and its
   *     slot freed ({@code EXPORT_STALL_TIMEOUT_MS}, default 60 000)
   */
  public record ExportLimits(int perAccount, int total, Duration stallTimeout) {

    public static final ExportLimits DEFAULT =
        new ExportLimits(DEFAULT_EXPORT_MAX_PER_ACCOUNT, DEFAULT_EXPORT_MAX_TOTAL, DEFAULT_EXPORT_STALL_TIMEOUT);

    public ExportLimits {
      if (perAccount < 1) {
        throw new IllegalArgumentException("EXPORT_MAX_PER_ACCOUNT must be 1 or more, got: " + perAccount);
      }
      if (total < 1) {
        throw new IllegalArgumentException("EXPORT_MAX_TOTAL must be 1 or more, got: " + total);
      }
      if (stallTimeout == null || stallTimeout.toMillis() < 1) {
        throw new IllegalArgumentException("EXPORT_STALL_TIMEOUT_MS must be 1 or more, got: " + stallTimeout);
      }
    }
  }

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
    if (cacheMaxBytes < 0) {
      throw new IllegalArgumentException("CACHE_MAX_BYTES must be 0 or more, got: " + cacheMaxBytes);
    }
    if (cachePollInterval == null || cachePollInterval.toMillis() < 1) {
      throw new IllegalArgumentException("CACHE_POLL_INTERVAL_MS must be 1 or more, got: " + cachePollInterval);
    }
    if (activityMaxItems < 1) {
      throw new IllegalArgumentException("ACTIVITY_MAX_ITEMS must be 1 or more, got: " + activityMaxItems);
    }
    if (exports == null) {
      throw new IllegalArgumentException("export limits are required");
    }
  }

  /** Without the cache, answer and export settings: the defaults. */
  public QueryConfig(String host, int port, Path keysFile, ClickHouseConfig clickHouse) {
    this(host, port, keysFile, clickHouse, defaultCacheMaxBytes(), DEFAULT_CACHE_POLL_INTERVAL,
        DEFAULT_ACTIVITY_MAX_ITEMS, ExportLimits.DEFAULT);
  }

  /**
   * A quarter of the heap the JVM may grow to: the rest is left to answers in flight, export pages (at most
   * {@code EXPORT_MAX_TOTAL} of them) and the collector's headroom.
   */
  public static long defaultCacheMaxBytes() {
    return Runtime.getRuntime().maxMemory() / 4;
  }

  /**
   * From {@code HTTP_HOST}, {@code HTTP_PORT}, {@code KEYS_FILE}, {@code CACHE_MAX_BYTES},
   * {@code CACHE_POLL_INTERVAL_MS}, {@code ACTIVITY_MAX_ITEMS}, {@code EXPORT_MAX_PER_ACCOUNT}, {@code EXPORT_MAX_TOTAL},
   * {@code EXPORT_STALL_TIMEOUT_MS} and the {@code CLICKHOUSE_*} variables.
   */
  public static QueryConfig fromEnv(Map<String, String> env) {
    if (env.containsKey("CACHE_MAX_ROWS")) {
      // Its unit changed: silently ignoring a memory setting would be worse than stopping.
      throw new IllegalArgumentException("CACHE_MAX_ROWS is no longer read: set CACHE_MAX_BYTES (estimated bytes of"
          + " cached days; default a quarter of the maximum heap; 0 turns the cache off)");
    }
    return new QueryConfig(
        env.getOrDefault("HTTP_HOST", "127.0.0.1"),
        EnvNumbers.port(env, "HTTP_PORT", 8081),
        Path.of(env.getOrDefault("KEYS_FILE", ".run/keys.jsonl")),
        ClickHouseConfig.fromEnv(env),
        EnvNumbers.number(env, "CACHE_MAX_BYTES", defaultCacheMaxBytes(), 0, Long.MAX_VALUE),
        Duration.ofMillis(
            EnvNumbers.positiveLong(env, "CACHE_POLL_INTERVAL_MS", DEFAULT_CACHE_POLL_INTERVAL.toMillis())),
        EnvNumbers.positiveInt(env, "ACTIVITY_MAX_ITEMS", DEFAULT_ACTIVITY_MAX_ITEMS),
        new ExportLimits(
            EnvNumbers.positiveInt(env, "EXPORT_MAX_PER_ACCOUNT", DEFAULT_EXPORT_MAX_PER_ACCOUNT),
            EnvNumbers.positiveInt(env, "EXPORT_MAX_TOTAL", DEFAULT_EXPORT_MAX_TOTAL),
            Duration.ofMillis(
                EnvNumbers.positiveLong(env, "EXPORT_STALL_TIMEOUT_MS", DEFAULT_EXPORT_STALL_TIMEOUT.toMillis()))));
  }
}
