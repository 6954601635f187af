package io.tallyhouse.query.cache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The meters of the completed-day cache ({@code activity_cache_*}): answers by result, evictions,
 * loads and polls.
 */
final class CacheMetrics {

  private final Map<String, Timer> answers = new HashMap<>();
  final Counter evictedForSize;
  final Counter evictedOutOfWindow;
  final Counter invalidations;
  final Counter loadedRows;
  final Counter pollFailures;

  private final MeterRegistry metrics;

  CacheMetrics(MeterRegistry metrics) {
    this.metrics = metrics;
    for (String result :
        List.of(CompletedDayCache.HIT, CompletedDayCache.MISS, CompletedDayCache.BYPASS)) {
      answers.put(
          result,
          Timer.builder("activity_cache_answers")
              .description(
                  "GET /api/v1/activity answers by the cache: hit (all days in memory), miss (a load from"
                      + " ClickHouse), bypass (answered by SQL: cache off, not polled recently, days outside the window)")
              .tag("result", result)
              .publishPercentileHistogram()
              .register(metrics));
    }
    evictedForSize = evictions(metrics, "size");
    evictedOutOfWindow = evictions(metrics, "window");
    invalidations =
        Counter.builder("activity_cache_invalidations")
            .description(
                "Cached days dropped because their change marker moved (a write reached them)")
            .register(metrics);
    loadedRows =
        Counter.builder("activity_cache_loaded_rows")
            .description("Rows of completed days loaded from ClickHouse into the cache")
            .register(metrics);
    pollFailures =
        Counter.builder("activity_cache_poll_failures")
            .description("Polls of usage_daily_changes that failed")
            .register(metrics);
  }

  /** Registers the gauges of {@code store}'s size and of the age of its markers. */
  void observe(DayStore store) {
    Gauge.builder("activity_cache_bytes", store, DayStore::weight)
        .description(
            "Estimated heap bytes of the cached days: their arrays, strings, memos and user indexes")
        .register(metrics);
    Gauge.builder("activity_cache_entries", store, DayStore::size)
        .description("(account, day) entries in the cache")
        .register(metrics);
    Gauge.builder("activity_cache_poll_age_seconds", store, CacheMetrics::pollAgeSeconds)
        .description(
            "Seconds since the last successful poll of the change markers started (NaN before the first)")
        .register(metrics);
  }

  private static Counter evictions(MeterRegistry metrics, String reason) {
    return Counter.builder("activity_cache_evictions")
        .description(
            "Cached days dropped by the memory bound (size) or because they left the window (window)")
        .tag("reason", reason)
        .register(metrics);
  }

  private static double pollAgeSeconds(DayStore store) {
    ChangeMarkers current = store.markers();
    return current == null ? Double.NaN : (System.nanoTime() - current.startedNanos()) / 1e9;
  }

  /** Records an answer given since {@code startNanos} with {@code result} (hit, miss, bypass). */
  void answered(String result, long startNanos) {
    answers.get(result).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }
}
