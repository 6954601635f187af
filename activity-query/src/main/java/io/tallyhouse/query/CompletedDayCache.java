package io.tallyhouse.query;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers {@code GET /api/v1/activity} for completed UTC days from memory, asking ClickHouse only for what it has not
 * seen or what changed. A completed day only changes when a late event arrives, and every INSERT into
 * {@code usage_daily} bumps that day's sum in {@code usage_daily_changes} (migration 004), so:
 * <ul>
 *   <li>a poller reads those sums every interval and drops every cached day whose sum moved;</li>
 *   <li>a miss loads all the account's missing days of the window with one statement, concurrent misses of one
 *       account share that load, and each day is kept under the sum of the latest poll read <em>before</em> its rows
 *       were read: a write racing the load moves the sum past it, so the next poll drops the day;</li>
 *   <li>nothing is served before the first successful poll, nor while the last successful poll started more than
 *       {@value #STALE_POLLS} intervals ago: then every request reads ClickHouse. So a served day is at most
 *       {@value #STALE_POLLS} poll intervals older than the last write to it.</li>
 * </ul>
 * Today is never cached (the window ends yesterday). The key includes the account and a load selects only that
 * account's rows, so one account's entries can never answer another. Memory is bounded by {@code maxBytes}: a day
 * weighs its estimated heap bytes ({@link CachedDay#footprint}, from its real string lengths and arrays) plus its
 * memoized answers and user index as they are made, and the least recently used days go first.
 */
final class CompletedDayCache implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(CompletedDayCache.class);

  /** Polls that may fail in a row before the cache stops answering. */
  static final int STALE_POLLS = 3;
  /** Positive api key checks remembered; the set starts over when full. */
  private static final int MAX_KNOWN_KEYS = 100_000;

  static final String HIT = "hit";
  static final String MISS = "miss";
  static final String BYPASS = "bypass";

  private final ActivityRepository repository;
  private final Clock clock;
  private final long maxBytes;
  private final Duration pollInterval;

  /** Access-ordered, so iteration starts at the least recently used day. Guarded by itself. */
  private final LinkedHashMap<DayKey, Entry> days = new LinkedHashMap<>(1024, 0.75f, true);
  /** Sum of the entries' weights; guarded by {@link #days}. */
  private long weight;
  /** The latest successful poll; replaced under {@link #days} together with the evictions it causes. */
  private volatile Markers markers;
  private final Map<String, CompletableFuture<Map<LocalDate, CachedDay>>> loads = new ConcurrentHashMap<>();
  private final Set<KnownKey> knownKeys = ConcurrentHashMap.newKeySet();
  private ScheduledExecutorService poller;
  private final AtomicLong polls = new AtomicLong();
  private boolean pollFailing;
  /** Runs between reading the markers and querying the rows of a load; tests use it to race a write in between. */
  private volatile Runnable beforeLoadQuery = () -> { };

  private final Map<String, Timer> answers = new HashMap<>();
  private final Counter evictedForSize;
  private final Counter evictedOutOfWindow;
  private final Counter invalidations;
  private final Counter loadedRows;
  private final Counter pollFailures;

  private record DayKey(String account, LocalDate date) {}

  private record KnownKey(String account, String apiKeyHash) {}

  /** The map entry, key, date and {@link Entry} of a cached day, beside the day's own footprint. */
  private static final int ENTRY_BYTES = 160;

  /** A cached day and its estimated bytes (as loaded, then its memos and user index as they are added). */
  private static final class Entry {
    private final CachedDay day;
    private long weight;

    Entry(CachedDay day) {
      this.day = day;
      this.weight = ENTRY_BYTES + day.footprint();
    }
  }

  /**
   * One poll: the marker sums of the window {@code [from, to]} it read (per account, indexed by days since
   * {@code from}), their total, and when the poll started ({@link System#nanoTime}).
   */
  private record Markers(LocalDate from, LocalDate to, Map<String, long[]> sums, long total, long startedNanos) {

    long of(String account, LocalDate date) {
      long[] perDay = sums.get(account);
      return perDay == null ? 0 : perDay[(int) (date.toEpochDay() - from.toEpochDay())];
    }

    boolean covers(LocalDate first, LocalDate last) {
      return !first.isBefore(from) && !last.isAfter(to);
    }
  }

  /**
   * A cache in front of {@code repository} holding at most {@code maxBytes} (estimated); 0 turns it off (every call
   * goes to ClickHouse). Polling starts with {@link #start()}.
   */
  CompletedDayCache(ActivityRepository repository, Clock clock, long maxBytes, Duration pollInterval,
      MeterRegistry metrics) {
    this.repository = repository;
    this.clock = clock;
    this.maxBytes = maxBytes;
    this.pollInterval = pollInterval;
    for (String result : List.of(HIT, MISS, BYPASS)) {
      answers.put(result, Timer.builder("activity_cache_answers")
          .description("GET /api/v1/activity answers by the cache: hit (all days in memory), miss (a load from"
              + " ClickHouse), bypass (answered by SQL: cache off, not polled recently, days outside the window)")
          .tag("result", result)
          .publishPercentileHistogram()
          .register(metrics));
    }
    evictedForSize = evictions(metrics, "size");
    evictedOutOfWindow = evictions(metrics, "window");
    invalidations = Counter.builder("activity_cache_invalidations")
        .description("Cached days dropped because their change marker moved (a write reached them)")
        .register(metrics);
    loadedRows = Counter.builder("activity_cache_loaded_rows")
        .description("Rows of completed days loaded from ClickHouse into the cache")
        .register(metrics);
    pollFailures = Counter.builder("activity_cache_poll_failures")
        .description("Polls of usage_daily_changes that failed")
        .register(metrics);
    Gauge.builder("activity_cache_bytes", this, CompletedDayCache::weight)
        .description("Estimated heap bytes of the cached days: their arrays, strings, memos and user indexes")
        .register(metrics);
    Gauge.builder("activity_cache_days", this, CompletedDayCache::size)
        .description("(account, day) entries in the cache")
        .register(metrics);
    Gauge.builder("activity_cache_poll_age_seconds", this, CompletedDayCache::pollAgeSeconds)
        .description("Seconds since the last successful poll of the change markers started (NaN before the first)")
        .register(metrics);
  }

  private static Counter evictions(MeterRegistry metrics, String reason) {
    return Counter.builder("activity_cache_evictions")
        .description("Cached days dropped by the memory bound (size) or because they left the window (window)")
        .tag("reason", reason)
        .register(metrics);
  }

  boolean enabled() {
    return maxBytes > 0;
  }

  /** Starts polling every interval (the first poll at once); does nothing when the cache is off. */
  synchronized void start() {
    if (enabled() && poller == null) {
      poller = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "activity-cache-poll");
        thread.setDaemon(true);
        return thread;
      });
      poller.scheduleWithFixedDelay(this::pollQuietly, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public synchronized void close() {
    if (poller != null) {
      poller.shutdownNow();
      poller = null;
    }
  }

  /** The items of {@code request} for {@code account}, in the contract's order: from memory where it may. */
  List<ActivityItem> activity(String account, ActivityRequest request) {
    long start = System.nanoTime();
    Resolved days = days(account, request);
    if (days == null) {
      return bypass(start, () -> repository.activity(account, request));
    }
    List<ActivityItem> items = new ArrayList<>();
    for (CachedDay day : days.newestFirst()) {
      items.addAll(day.items(request));
    }
    answers.get(days.result()).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    return items;
  }

  /**
   * Appends the same items as {@link #activity} to {@code out}, as the JSON objects of the answer's {@code data} array
   * separated by commas: for a day in memory the bytes are memoized with its aggregation or written straight from its
   * sums, so a hit builds no item and no String.
   *
   * @throws InvalidParameterException when the answer has more than {@code maxItems} items (found after at most one
   *     day more, or {@code maxItems + 1} rows from ClickHouse)
   */
  void activityJson(String account, ActivityRequest request, JsonBytes out, int maxItems) {
    long start = System.nanoTime();
    Resolved days = days(account, request);
    if (days == null) {
      out.appendUtf8(bypass(start, () -> {
        List<ActivityItem> items = repository.activity(account, request, maxItems + 1);
        if (items.size() > maxItems) {
          throw tooLarge(maxItems);
        }
        return ActivityItem.jsonObjects(items, request.groupByUser(), request.groupByApiKey());
      }));
      return;
    }
    append(account, request, days.newestFirst(), out, maxItems);
    answers.get(days.result()).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
  }

  /** The refusal of an answer of more than {@code maxItems} items: the client narrows it or uses the export. */
  static InvalidParameterException tooLarge(int maxItems) {
    return new InvalidParameterException("The answer would have more than " + maxItems + " items: narrow it with"
        + " date, api_key_hash or user_id, or use /api/v1/activity/export");
  }

  /**
   * {@link #activityJson} when every day of {@code request} is in memory and may be served (a hit): appends the
   * objects and returns true. Otherwise writes nothing and returns false: the answer needs ClickHouse (a load or the
   * SQL path). Never waits for ClickHouse, so an event loop may call it.
   */
  boolean activityJsonFromMemory(String account, ActivityRequest request, JsonBytes out, int maxItems) {
    long start = System.nanoTime();
    Markers current = enabled() ? usableMarkers() : null;
    if (current == null || !current.covers(request.from(), request.to())) {
      return false;
    }
    Map<LocalDate, CachedDay> found = lookup(account, request.from(), request.to());
    if (found.size() < (int) (request.to().toEpochDay() - request.from().toEpochDay()) + 1) {
      return false;
    }
    append(account, request, newestFirst(found, request), out, maxItems);
    answers.get(HIT).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    return true;
  }

  /** Appends the days' items; checks the cap after each day, so at most one day's items more are ever written. */
  private void append(String account, ActivityRequest request, List<CachedDay> newestFirst, JsonBytes out,
      int maxItems) {
    int first = out.length();
    long items = 0;
    for (CachedDay day : newestFirst) {
      items += day.json(request, out, out.length() > first, added -> charge(account, day, added));
      if (items > maxItems) {
        throw tooLarge(maxItems);
      }
    }
  }

  /** From the last day: the contract orders by date descending first, and each day's items are in order. */
  private static List<CachedDay> newestFirst(Map<LocalDate, CachedDay> found, ActivityRequest request) {
    List<CachedDay> newestFirst = new ArrayList<>(found.size());
    for (LocalDate date = request.to(); !date.isBefore(request.from()); date = date.minusDays(1)) {
      newestFirst.add(found.get(date));
    }
    return newestFirst;
  }

  /** The days of one request, all in memory, and whether a load was needed for them. */
  private record Resolved(String result, List<CachedDay> newestFirst) {}

  /**
   * Every day of {@code request} from memory, loading the account's missing days if needed; null when the request must
   * be answered by SQL (cache off, no recent poll, a day outside the polled window, a failed load).
   */
  private Resolved days(String account, ActivityRequest request) {
    Markers current = enabled() ? usableMarkers() : null;
    if (current == null || !current.covers(request.from(), request.to())) {
      return null;
    }
    Map<LocalDate, CachedDay> found = lookup(account, request.from(), request.to());
    String result = HIT;
    int wanted = (int) (request.to().toEpochDay() - request.from().toEpochDay()) + 1;
    if (found.size() < wanted) {
      result = MISS;
      Map<LocalDate, CachedDay> loaded;
      try {
        loaded = loadShared(account);
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
        // Stored by a load that ended just before ours began (ours then found nothing missing): look once more.
        lookup(account, request.from(), request.to()).forEach(found::putIfAbsent);
      }
      if (found.size() < wanted) {
        return null;
      }
    }
    return new Resolved(result, newestFirst(found, request));
  }

  /** The SQL path's answer; counted as a bypass while the cache is on. */
  private <T> T bypass(long start, Supplier<T> sql) {
    try {
      return sql.get();
    } finally {
      if (enabled()) {
        answers.get(BYPASS).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      }
    }
  }

  /**
   * Whether {@code account} ever reported {@code apiKeyHash}. Positive answers are remembered: nothing deletes from
   * {@code api_key_hashes}, so a reported key stays reported. Negative ones are not (the key may be reported next).
   */
  boolean apiKeyKnown(String account, String apiKeyHash) {
    if (apiKeyKnownInMemory(account, apiKeyHash)) {
      return true;
    }
    boolean known = repository.apiKeyKnown(account, apiKeyHash);
    if (known && enabled()) {
      if (knownKeys.size() >= MAX_KNOWN_KEYS) {
        knownKeys.clear();
      }
      knownKeys.add(new KnownKey(account, apiKeyHash));
    }
    return known;
  }

  /** Whether {@code account} is remembered to have reported {@code apiKeyHash}; false says "ask ClickHouse". */
  boolean apiKeyKnownInMemory(String account, String apiKeyHash) {
    return enabled() && knownKeys.contains(new KnownKey(account, apiKeyHash));
  }

  /** The markers of the last successful poll, or null when there is none recent enough to trust the entries. */
  private Markers usableMarkers() {
    Markers current = markers;
    if (current == null || System.nanoTime() - current.startedNanos() > STALE_POLLS * pollInterval.toNanos()) {
      return null;
    }
    return current;
  }

  private Map<LocalDate, CachedDay> lookup(String account, LocalDate from, LocalDate to) {
    Map<LocalDate, CachedDay> found = new HashMap<>();
    synchronized (days) {
      for (LocalDate date = from; !date.isAfter(to); date = date.plusDays(1)) {
        Entry entry = days.get(new DayKey(account, date));
        if (entry != null) {
          found.put(date, entry.day);
        }
      }
    }
    return found;
  }

  /** One load per account at a time: a miss joins the running load of its account instead of starting another. */
  private Map<LocalDate, CachedDay> loadShared(String account) {
    CompletableFuture<Map<LocalDate, CachedDay>> mine = new CompletableFuture<>();
    CompletableFuture<Map<LocalDate, CachedDay>> running = loads.putIfAbsent(account, mine);
    if (running != null) {
      return running.join();
    }
    try {
      Map<LocalDate, CachedDay> loaded = load(account);
      mine.complete(loaded);
      return loaded;
    } catch (RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      loads.remove(account, mine);
    }
  }

  /** Loads every day of the window that {@code account} has not in the cache, with one statement, and stores them. */
  private Map<LocalDate, CachedDay> load(String account) {
    // The markers first: a write after this read moves a day's sum past the one it is stored under.
    Markers before = markers;
    LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    LocalDate first = max(before.from(), today.minusDays(ActivityRequest.WINDOW_DAYS));
    LocalDate last = min(before.to(), today.minusDays(1));
    List<LocalDate> missing = new ArrayList<>();
    synchronized (days) {
      for (LocalDate date = first; !date.isAfter(last); date = date.plusDays(1)) {
        if (!days.containsKey(new DayKey(account, date))) {
          missing.add(date);
        }
      }
    }
    if (missing.isEmpty()) {
      return Map.of();
    }
    beforeLoadQuery.run();
    CachedDay.Days rows = repository.completedDays(account, missing);
    loadedRows.increment(rows.rows());
    Map<LocalDate, CachedDay> loaded = new HashMap<>();
    for (LocalDate date : missing) {
      loaded.put(date, rows.day(date, before.of(account, date)));
    }
    store(account, loaded.values());
    return loaded;
  }

  /**
   * Keeps the loaded days whose marker the latest poll still shows. Under the same lock as a poll's evictions: a day
   * is either stored before a poll that drops it or checked against that poll here, never missed by both.
   */
  private void store(String account, Iterable<CachedDay> loaded) {
    synchronized (days) {
      Markers latest = markers;
      for (CachedDay day : loaded) {
        Entry entry = new Entry(day);
        if (!latest.covers(day.date(), day.date()) || latest.of(account, day.date()) != day.marker()
            || entry.weight > maxBytes) {
          continue; // answers the requests waiting for it, but is stale already (or too large to keep)
        }
        Entry previous = days.put(new DayKey(account, day.date()), entry);
        weight += entry.weight - (previous == null ? 0 : previous.weight);
      }
      evictToBound();
    }
  }

  /** Counts {@code bytes} memoized by {@code day} against the bound, if the day is still the cached one. */
  private void charge(String account, CachedDay day, long bytes) {
    synchronized (days) {
      Entry entry = days.get(new DayKey(account, day.date()));
      if (entry != null && entry.day == day) {
        entry.weight += bytes;
        weight += bytes;
        evictToBound();
      }
    }
  }

  /** Drops the least recently used days until the weight is within the bound. Under {@link #days}. */
  private void evictToBound() {
    Iterator<Entry> eldest = days.values().iterator();
    while (weight > maxBytes && eldest.hasNext()) {
      weight -= eldest.next().weight;
      eldest.remove();
      evictedForSize.increment();
    }
  }

  /**
   * Reads the change markers of the window and drops every cached day whose sum moved or that left the window, then
   * makes them the markers new loads are stored under. Throws when ClickHouse does not answer.
   *
   * <p>Every cached day holds the marker of the latest poll ({@link #store} keeps no other), so only the days whose sum
   * differs between the latest poll and this one can be stale. And since sums only grow, an unchanged total of the
   * window means no day changed: then one row is read instead of one per account and day.
   */
  void poll() {
    long started = System.nanoTime();
    LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    LocalDate from = today.minusDays(ActivityRequest.WINDOW_DAYS);
    LocalDate to = today.minusDays(1);
    Markers previous = markers;
    boolean sameWindow = previous != null && previous.from().equals(from);
    if (sameWindow && repository.changeMarkerTotal(from, to) == previous.total()) {
      markers = new Markers(from, to, previous.sums(), previous.total(), started);
      polls.incrementAndGet();
      return;
    }
    Map<String, long[]> sums = repository.changeMarkers(from, to);
    long total = 0;
    for (long[] perDay : sums.values()) {
      for (long sum : perDay) {
        total += sum;
      }
    }
    Markers fresh = new Markers(from, to, sums, total, started);
    synchronized (days) {
      if (sameWindow) {
        dropChanged(previous, fresh);
      } else {
        dropAllBut(fresh);
      }
      markers = fresh;
    }
    polls.incrementAndGet();
  }

  /** Drops the cached days whose sum differs between two polls of the same window. Under {@link #days}. */
  private void dropChanged(Markers previous, Markers fresh) {
    Set<String> accounts = new HashSet<>(previous.sums().keySet());
    accounts.addAll(fresh.sums().keySet());
    int length = (int) (fresh.to().toEpochDay() - fresh.from().toEpochDay()) + 1;
    for (String account : accounts) {
      long[] before = previous.sums().get(account);
      long[] after = fresh.sums().get(account);
      for (int d = 0; d < length; d++) {
        if ((before == null ? 0 : before[d]) != (after == null ? 0 : after[d])) {
          Entry dropped = days.remove(new DayKey(account, fresh.from().plusDays(d)));
          if (dropped != null) {
            weight -= dropped.weight;
            invalidations.increment();
          }
        }
      }
    }
  }

  /** Drops the cached days outside {@code fresh}'s window or with another sum than its own. Under {@link #days}. */
  private void dropAllBut(Markers fresh) {
    Iterator<Map.Entry<DayKey, Entry>> entries = days.entrySet().iterator();
    while (entries.hasNext()) {
      Map.Entry<DayKey, Entry> entry = entries.next();
      DayKey key = entry.getKey();
      if (!fresh.covers(key.date(), key.date())) {
        evictedOutOfWindow.increment();
      } else if (fresh.of(key.account(), key.date()) != entry.getValue().day.marker()) {
        invalidations.increment();
      } else {
        continue;
      }
      weight -= entry.getValue().weight;
      entries.remove();
    }
  }

  private void pollQuietly() {
    try {
      poll();
      if (pollFailing) {
        LOG.info("polling the change markers works again");
        pollFailing = false;
      }
    } catch (RuntimeException e) {
      pollFailures.increment();
      if (!pollFailing) {
        // Logged once per run of failures; the cache stops answering after STALE_POLLS intervals of them.
        LOG.warn("polling the change markers failed; the cache answers again after the next successful poll", e);
        pollFailing = true;
      }
    }
  }

  /** Test seam: runs between reading the markers and querying the rows of every load. */
  void beforeLoadQuery(Runnable action) {
    beforeLoadQuery = action == null ? () -> { } : action;
  }

  /** Successful polls so far: a test that waits for it to grow by two knows a poll started after it began waiting. */
  long polls() {
    return polls.get();
  }

  /** Whether a request now would be answered from the cache (polled recently enough). */
  boolean serving() {
    return enabled() && usableMarkers() != null;
  }

  private double weight() {
    synchronized (days) {
      return weight;
    }
  }

  private double size() {
    synchronized (days) {
      return days.size();
    }
  }

  private double pollAgeSeconds() {
    Markers current = markers;
    return current == null ? Double.NaN : (System.nanoTime() - current.startedNanos()) / 1e9;
  }

  private static LocalDate max(LocalDate a, LocalDate b) {
    return a.isAfter(b) ? a : b;
  }

  private static LocalDate min(LocalDate a, LocalDate b) {
    return a.isBefore(b) ? a : b;
  }
}
