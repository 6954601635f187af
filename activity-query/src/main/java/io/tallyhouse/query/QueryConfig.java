package io.tallyhouse.query;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * The configuration of activity-query, read from its environment by {@link #read}.
 *
 * @param host the address the HTTP server binds
 * @param port the HTTP port; 0 picks a free port
 * @param keysFile the key file of management keys
 * @param clickHouse where the rollups are
 * @param cacheMaxBytes estimated bytes of completed days kept in memory; 0 turns the cache off and
 *     every request reads ClickHouse
 * @param cachePollInterval how often the cache reads the change markers
 * @param activityMaxItems the most items one {@code /api/v1/activity} answer may have; a larger
 *     answer is 400
 * @param exports the limits of concurrent exports
 * @param warmup whether the cache loads the most recently active accounts at start, and how long
 *     readiness waits for it
 */
public record QueryConfig(
    String host,
    int port,
    Path keysFile,
    ClickHouseConfig clickHouse,
    long cacheMaxBytes,
    Duration cachePollInterval,
    int activityMaxItems,
    ExportLimits exports,
    Warmup warmup) {

  public static final int DEFAULT_PORT = 8081;
  public static final Duration DEFAULT_CACHE_POLL_INTERVAL = Duration.ofSeconds(1);
  public static final int DEFAULT_ACTIVITY_MAX_ITEMS = 100_000;
  public static final int DEFAULT_EXPORT_MAX_PER_ACCOUNT = 2;
  public static final int DEFAULT_EXPORT_MAX_TOTAL = 8;
  public static final Duration DEFAULT_EXPORT_STALL_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_CACHE_WARMUP_MAX_WAIT = Duration.ofMinutes(2);

  /**
   * The cache's warm-up at start.
   *
   * @param on whether the cache loads the windows of the most recently active accounts at start, in
   *     the background
   * @param maxWait how long {@code /health/ready} answers 503 while the warm-up runs; after it the
   *     service is ready anyway
   */
  public record Warmup(boolean on, Duration maxWait) {

    public static final Warmup DEFAULT = new Warmup(true, DEFAULT_CACHE_WARMUP_MAX_WAIT);

    public static final Warmup OFF = new Warmup(false, Duration.ZERO);

    public Warmup {
      if (maxWait == null || maxWait.isNegative()) {
        throw new IllegalArgumentException(
            "CACHE_WARMUP_MAX_WAIT_MS must be 0 or more, got: " + maxWait);
      }
    }
  }

  /**
   * Concurrent exports: an export takes a slot before it reads ClickHouse; beyond either limit it
   * is 429.
   *
   * @param perAccount exports of one account at once
   * @param total exports of all accounts at once
   * @param stallTimeout how long a CSV export may wait for its client to take more bytes before it
   *     is ended and its slot freed
   */
  public record ExportLimits(int perAccount, int total, Duration stallTimeout) {

    public static final ExportLimits DEFAULT =
        new ExportLimits(
            DEFAULT_EXPORT_MAX_PER_ACCOUNT, DEFAULT_EXPORT_MAX_TOTAL, DEFAULT_EXPORT_STALL_TIMEOUT);

    public ExportLimits {
      if (perAccount < 1) {
        throw new IllegalArgumentException(
            "EXPORT_MAX_PER_ACCOUNT must be 1 or more, got: " + perAccount);
      }
      if (total < 1) {
        throw new IllegalArgumentException("EXPORT_MAX_TOTAL must be 1 or more, got: " + total);
      }
      if (stallTimeout == null || stallTimeout.toMillis() < 1) {
        throw new IllegalArgumentException(
            "EXPORT_STALL_TIMEOUT_MS must be 1 or more, got: " + stallTimeout);
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
      throw new IllegalArgumentException(
          "CACHE_MAX_BYTES must be 0 or more, got: " + cacheMaxBytes);
    }
    if (cachePollInterval == null || cachePollInterval.toMillis() < 1) {
      throw new IllegalArgumentException(
          "CACHE_POLL_INTERVAL_MS must be 1 or more, got: " + cachePollInterval);
    }
    if (activityMaxItems < 1) {
      throw new IllegalArgumentException(
          "ACTIVITY_MAX_ITEMS must be 1 or more, got: " + activityMaxItems);
    }
    if (exports == null) {
      throw new IllegalArgumentException("export limits are required");
    }
    if (warmup == null) {
      throw new IllegalArgumentException("the warm-up settings are required");
    }
  }

  /**
   * A quarter of the heap the JVM may grow to: the rest is left to answers in flight, export pages
   * (at most {@code EXPORT_MAX_TOTAL} of them) and the collector's headroom.
   */
  public static long defaultCacheMaxBytes() {
    return Runtime.getRuntime().maxMemory() / 4;
  }

  /**
   * The configuration {@code settings} describe; every broken value is noted in them, none thrown.
   */
  public static QueryConfig read(Settings settings) {
    PipelineSettings.Http http = PipelineSettings.http(settings, DEFAULT_PORT);
    Path keysFile = PipelineSettings.keysFile(settings);
    ClickHouseConfig clickHouse = PipelineSettings.clickHouse(settings);
    // Its unit differs: silently ignoring a memory setting would run with another bound than the
    // operator meant.
    settings.retired(
        "CACHE_MAX_ROWS",
        "set CACHE_MAX_BYTES (estimated bytes of cached days; default a quarter of"
            + " the maximum heap; 0 turns the cache off)");
    long cacheMaxBytes =
        settings
            .number(
                "CACHE_MAX_BYTES",
                "estimated heap bytes of completed days the cache keeps; 0 turns the cache off")
            .atLeast(0)
            .orElse(defaultCacheMaxBytes(), "a quarter of the maximum heap");
    Duration pollInterval =
        settings
            .number(
                "CACHE_POLL_INTERVAL_MS",
                "how often the cache reads the change markers; a served day is at most 3 intervals stale")
            .millisOrElse(DEFAULT_CACHE_POLL_INTERVAL);
    int maxItems =
        settings
            .number(
                "ACTIVITY_MAX_ITEMS", "the most items of one /api/v1/activity answer; more is 400")
            .intOrElse(DEFAULT_ACTIVITY_MAX_ITEMS);
    int perAccount =
        settings
            .number("EXPORT_MAX_PER_ACCOUNT", "exports of one account at once; more is 429")
            .intOrElse(DEFAULT_EXPORT_MAX_PER_ACCOUNT);
    int total =
        settings
            .number(
                "EXPORT_MAX_TOTAL",
                "exports of all accounts at once; more is 429 (it also bounds the export pages held in memory)")
            .intOrElse(DEFAULT_EXPORT_MAX_TOTAL);
    Duration stallTimeout =
        settings
            .number(
                "EXPORT_STALL_TIMEOUT_MS",
                "how long a CSV export may wait for its client to take data before it is cut and its slot freed")
            .millisOrElse(DEFAULT_EXPORT_STALL_TIMEOUT);
    boolean warmup =
        settings
            .text(
                "CACHE_WARMUP",
                "on: at start the cache loads the most recently active accounts in the background; off: it fills on first requests only")
            .oneOf(Set.of("on", "off"))
            .orElse("on")
            .equals("on");
    Duration warmupMaxWait =
        settings
            .number(
                "CACHE_WARMUP_MAX_WAIT_MS",
                "how long /health/ready answers 503 while the cache warms up at start; then ready anyway (0: never waits)")
            .atLeast(0)
            .millisOrElse(DEFAULT_CACHE_WARMUP_MAX_WAIT);
    return new QueryConfig(
        http.host(),
        http.port(),
        keysFile,
        clickHouse,
        cacheMaxBytes,
        pollInterval,
        maxItems,
        new ExportLimits(perAccount, total, stallTimeout),
        new Warmup(warmup, warmupMaxWait));
  }
}
