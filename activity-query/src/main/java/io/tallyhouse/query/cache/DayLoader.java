package io.tallyhouse.query.cache;

import io.tallyhouse.query.activity.ActivityRequest;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Loads an account's days of the window that are not in memory, with one statement, and stores
 * them; concurrent misses of one account share that load. Each day is stored under the marker sum
 * of the latest poll read <em>before</em> its rows were queried: a write racing the load moves the
 * sum past it, so the next poll drops the day. The warm-up loads through the same single flight, so
 * a request for an account being warmed waits for that load instead of loading it again.
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

  /** Loads of requests running now: the warm-up gives way to them. */
  private final AtomicInteger requestLoads = new AtomicInteger();

  /**
   * The days loaded for {@code account} (by this call or by the one it joined); throws when
   * ClickHouse fails.
   */
  Map<LocalDate, CachedDay> load(String account) {
    requestLoads.incrementAndGet();
    try {
      return loads.get(account, () -> loadNow(account, loaded -> store.store(account, loaded)));
    } finally {
      requestLoads.decrementAndGet();
    }
  }

  /**
   * Loads {@code account}'s missing days for the warm-up, keeping them only if the cache then holds
   * at most {@code limit} bytes, so the warm-up never evicts. A request for the account meanwhile
   * joins this load (and a warm-up that finds a request's load running joins that one).
   *
   * @return the estimated bytes kept (0 when nothing was missing or it joined a request's load), or
   *     -1 when the days did not fit and none was kept
   */
  long warm(String account, long limit) {
    long[] kept = {0};
    loads.get(
        account,
        () -> loadNow(account, loaded -> kept[0] = store.storeWithin(account, loaded, limit)));
    return kept[0];
  }

  /** Whether a request is loading days now. */
  boolean requestsLoading() {
    return requestLoads.get() > 0;
  }

  private Map<LocalDate, CachedDay> loadNow(String account, Consumer<Collection<CachedDay>> keep) {
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
    keep.accept(loaded.values());
    return loaded;
  }

  private static LocalDate max(LocalDate a, LocalDate b) {
    return a.isAfter(b) ? a : b;
  }

  private static LocalDate min(LocalDate a, LocalDate b) {
    return a.isBefore(b) ? a : b;
  }
}
