package io.tallyhouse.query.cache;

import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.query.activity.ActivityItem;
import io.tallyhouse.query.activity.ActivityRepository;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.activity.InvalidParameterException;
import io.tallyhouse.query.json.JsonBytes;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers {@code GET /api/v1/activity} for completed UTC days from memory, asking ClickHouse only
 * for what it has not seen or what changed, and through the SQL path when it may not answer. A
 * completed day only changes when a late event arrives, and every INSERT into {@code usage_daily}
 * bumps that day's sum in {@code usage_daily_changes} (migration 004), so:
 *
 * <ul>
 *   <li>a {@link ChangePoller} reads those sums every interval and the {@link DayStore} drops every
 *       day whose sum moved;
 *   <li>a miss loads all the account's missing days of the window with one statement ({@link
 *       DayLoader});
 *   <li>nothing is served before the first successful poll, nor while the last successful poll
 *       started more than {@value #STALE_POLLS} intervals ago: then every request reads ClickHouse.
 *       So a served day is at most {@value #STALE_POLLS} poll intervals older than the last write
 *       to it.
 * </ul>
 *
 * Today is never cached (the window ends yesterday). The key includes the account and a load
 * selects only that account's rows, so one account's entries can never answer another. Memory is
 * bounded by {@code maxBytes} ({@link HeapEstimate}); the least recently used days go first.
 */
public final class CompletedDayCache implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(CompletedDayCache.class);

  /** Polls that may fail in a row before the cache stops answering. */
  static final int STALE_POLLS = 3;

  /** The {@code result} tags of {@code activity_cache_answers}. */
  public static final String HIT = "hit";

  public static final String MISS = "miss";
  public static final String BYPASS = "bypass";

  private final ActivityRepository sql;
  private final long maxBytes;
  private final Duration pollInterval;
  private final CacheMetrics metrics;
  private final DayStore store;
  private final ChangePoller poller;
  private final DayLoader loader;

  /**
   * A cache of the days {@code source} reads, holding at most {@code maxBytes} (estimated); 0 turns
   * it off (every call goes to {@code sql}). Polling starts with {@link #start()}.
   */
  public CompletedDayCache(
      ActivityRepository sql,
      CompletedDaySource source,
      Clock clock,
      long maxBytes,
      Duration pollInterval,
      MeterRegistry registry) {
    this.sql = sql;
    this.maxBytes = maxBytes;
    this.pollInterval = pollInterval;
    this.metrics = new CacheMetrics(registry);
    this.store = new DayStore(maxBytes, metrics);
    this.poller = new ChangePoller(source, store, clock, pollInterval, metrics);
    this.loader = new DayLoader(source, store, clock, metrics);
  }

  public boolean enabled() {
    return maxBytes > 0;
  }

  /** Starts polling every interval (the first poll at once); does nothing when the cache is off. */
  public void start() {
    if (enabled()) {
      poller.start();
    }
  }

  @Override
  public void close() {
    poller.close();
  }

  /**
   * Reads the change markers now and drops what changed; throws when ClickHouse does not answer.
   */
  public void poll() {
    poller.poll();
  }

  /**
   * Successful polls so far: a caller that waits for it to grow by two knows a poll started after
   * it began waiting.
   */
  public long polls() {
    return poller.polls();
  }

  /** The bound of estimated bytes held. */
  long maxBytes() {
    return maxBytes;
  }

  /**
   * Loads {@code account}'s missing days of the window for the warm-up, as its first request would,
   * keeping them only if the cache then holds at most {@code limit} bytes ({@link DayLoader#warm}).
   *
   * @return the estimated bytes kept, or -1 when the days did not fit and none was kept
   * @throws IllegalStateException when no poll is recent enough to load under
   * @throws RuntimeException when ClickHouse fails
   */
  long warm(String account, long limit) {
    if (usableMarkers() == null) {
      throw new IllegalStateException("the change markers were not polled recently");
    }
    return loader.warm(account, limit);
  }

  /** What {@code limit} leaves beside the days the cache holds now ({@link DayStore#room}). */
  long room(long limit) {
    return store.room(limit);
  }

  /** Whether a request is loading days now (the warm-up gives way). */
  boolean requestsLoading() {
    return loader.requestsLoading();
  }

  /** Whether a request now would be answered from the cache (polled recently enough). */
  public boolean serving() {
    return usableMarkers() != null;
  }

  /**
   * The items of {@code request} for {@code account}, in the contract's order: from memory where it
   * may.
   */
  public List<ActivityItem> activity(String account, ActivityRequest request) {
    long start = System.nanoTime();
    Resolved days = days(account, request);
    if (days == null) {
      return bypass(start, () -> sql.activity(account, request));
    }
    List<ActivityItem> items = new ArrayList<>();
    for (CachedDay day : days.newestFirst()) {
      items.addAll(day.items(request));
    }
    metrics.answered(days.result(), start);
    return items;
  }

  /**
   * Appends the same items as {@link #activity} to {@code out}, as the JSON objects of the answer's
   * {@code data} array separated by commas: for a day in memory the bytes are memoized with its
   * aggregation or written straight from its sums, so a hit builds no item and no String.
   *
   * @throws InvalidParameterException when the answer has more than {@code maxItems} items (found
   *     after at most one day more, or {@code maxItems + 1} rows from ClickHouse)
   */
  public void activityJson(String account, ActivityRequest request, JsonBytes out, int maxItems) {
    long start = System.nanoTime();
    Resolved days = days(account, request);
    if (days == null) {
      out.appendUtf8(
          bypass(
              start,
              () -> {
                List<ActivityItem> items = sql.activity(account, request, maxItems + 1);
                if (items.size() > maxItems) {
                  throw tooLarge(maxItems);
                }
                return ActivityItem.jsonObjects(items, request.grouping());
              }));
      return;
    }
    append(account, request, days.newestFirst(), out, maxItems);
    metrics.answered(days.result(), start);
  }

  /**
   * {@link #activityJson} when every day of {@code request} is in memory and may be served (a hit):
   * appends the objects and returns true. Otherwise writes nothing and returns false: the answer
   * needs ClickHouse (a load or the SQL path). Never waits for ClickHouse, so an event loop may
   * call it.
   */
  public boolean activityJsonFromMemory(
      String account, ActivityRequest request, JsonBytes out, int maxItems) {
    long start = System.nanoTime();
    ChangeMarkers current = usableMarkers();
    if (current == null || !current.covers(request.from(), request.to())) {
      return false;
    }
    Map<LocalDate, CachedDay> found = store.lookup(account, request.from(), request.to());
    if (found.size() < days(request)) {
      return false;
    }
    append(account, request, newestFirst(found, request), out, maxItems);
    metrics.answered(HIT, start);
    return true;
  }

  /**
   * The refusal of an answer of more than {@code maxItems} items: the client narrows it or uses the
   * export.
   */
  static InvalidParameterException tooLarge(int maxItems) {
    return new InvalidParameterException(
        "The answer would have more than "
            + maxItems
            + " items: narrow it with"
            + " date, workspace_id, api_key_hash or user_id, or use /api/v1/activity/export");
  }

  /**
   * Appends the days' items; checks the cap after each day, so at most one day's items more are
   * ever written.
   */
  private void append(
      String account,
      ActivityRequest request,
      List<CachedDay> newestFirst,
      JsonBytes out,
      int maxItems) {
    int first = out.length();
    long items = 0;
    for (CachedDay day : newestFirst) {
      items +=
          day.json(request, out, out.length() > first, added -> store.charge(account, day, added));
      if (items > maxItems) {
        throw tooLarge(maxItems);
      }
    }
  }

  /**
   * From the last day: the contract orders by date descending first, and each day's items are in
   * order.
   */
  private static List<CachedDay> newestFirst(
      Map<LocalDate, CachedDay> found, ActivityRequest request) {
    List<CachedDay> newestFirst = new ArrayList<>(found.size());
    for (LocalDate date = request.to(); !date.isBefore(request.from()); date = date.minusDays(1)) {
      newestFirst.add(found.get(date));
    }
    return newestFirst;
  }

  private static int days(ActivityRequest request) {
    return (int) (request.to().toEpochDay() - request.from().toEpochDay()) + 1;
  }

  /** The days of one request, all in memory, and whether a load was needed for them. */
  private record Resolved(String result, List<CachedDay> newestFirst) {}

  /**
   * Every day of {@code request} from memory, loading the account's missing days if needed; null
   * when the request must be answered by SQL (cache off, no recent poll, a day outside the polled
   * window, a failed load).
   */
  private Resolved days(String account, ActivityRequest request) {
    ChangeMarkers current = usableMarkers();
    if (current == null || !current.covers(request.from(), request.to())) {
      return null;
    }
    Map<LocalDate, CachedDay> found = store.lookup(account, request.from(), request.to());
    String result = HIT;
    int wanted = days(request);
    if (found.size() < wanted) {
      result = MISS;
      Map<LocalDate, CachedDay> loaded;
      try {
        loaded = loader.load(account);
      } catch (RuntimeException e) {
        LOG.warn("loading completed days into the cache failed; answering from ClickHouse", e);
        return null;
      }
      for (LocalDate date = request.from(); !date.isAfter(request.to()); date = date.plusDays(1)) {
        CachedDay day = loaded.get(date);
        if (day != null) {
          found.putIfAbsent(date, day);
        }
      }
      if (found.size() < wanted) {
        // Stored by a load that ended just before ours began (ours then found nothing missing):
        // look once more.
        store.lookup(account, request.from(), request.to()).forEach(found::putIfAbsent);
      }
      if (found.size() < wanted) {
        return null;
      }
    }
    return new Resolved(result, newestFirst(found, request));
  }

  /** The SQL path's answer; counted as a bypass while the cache is on. */
  private <T> T bypass(long start, Supplier<T> answer) {
    try {
      return answer.get();
    } finally {
      if (enabled()) {
        metrics.answered(BYPASS, start);
      }
    }
  }

  /**
   * The markers of the last successful poll, or null when the cache is off or no poll is recent
   * enough to trust.
   */
  private ChangeMarkers usableMarkers() {
    ChangeMarkers current = enabled() ? store.markers() : null;
    if (current == null
        || System.nanoTime() - current.startedNanos() > STALE_POLLS * pollInterval.toNanos()) {
      return null;
    }
    return current;
  }
}
