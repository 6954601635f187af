package io.tallyhouse.query.cache;

import io.tallyhouse.query.activity.ActivityRequest;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads an account's days of the window that are not in memory, with one statement, and stores
 * them; concurrent misses of one account share that load. Each day is stored under the marker sum
 * of the latest poll read <em>before</em> its rows were queried: a write racing the load moves the
 * sum past it, so the next poll drops the day.
 */
final class DayLoader {

  private final CompletedDaySource source;
  private final DayStore store;
  private final Clock clock;
  private final CacheMetrics metrics;
  private final SingleFlight<String, Map<LocalDate, CachedDay>> loads = new SingleFlight<>();

  DayLoader(CompletedDaySource source, DayStore store, Clock clock, CacheMetrics metrics) {
    this.source = source;
    this.store = store;
    this.clock = clock;
    this.metrics = metrics;
  }

  /**
   * The days loaded for {@code account} (by this call or by the one it joined); throws when
   * ClickHouse fails.
   */
  Map<LocalDate, CachedDay> load(String account) {
    return loads.get(account, () -> loadNow(account));
  }

  private Map<LocalDate, CachedDay> loadNow(String account) {
    // The markers first: a write after this read moves a day's sum past the one it is stored under.
    ChangeMarkers before = store.markers();
    LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    LocalDate first = max(before.from(), today.minusDays(ActivityRequest.WINDOW_DAYS));
    LocalDate last = min(before.to(), today.minusDays(1));
    List<LocalDate> missing = store.missing(account, first, last);
    if (missing.isEmpty()) {
      return Map.of();
    }
    DayLoad rows = source.completedDays(account, missing);
    metrics.loadedRows.increment(rows.rows());
    Map<LocalDate, CachedDay> loaded = new HashMap<>();
    for (LocalDate date : missing) {
      loaded.put(date, rows.day(date, before.of(account, date)));
    }
    store.store(account, loaded.values());
    return loaded;
  }

  private static LocalDate max(LocalDate a, LocalDate b) {
    return a.isAfter(b) ? a : b;
  }

  private static LocalDate min(LocalDate a, LocalDate b) {
    return a.isBefore(b) ? a : b;
  }
}
