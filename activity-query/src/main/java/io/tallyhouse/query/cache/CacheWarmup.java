package io.tallyhouse.query.cache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.query.activity.ActivityRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills the completed-day cache at start, so the first request of an active account after a restart
 * is a hit: on one background thread, once the cache has polled the change markers, it reads the
 * accounts with rows in the window, the most recently active first ({@link AccountOrder}), and
 * loads each one's window as its first request would, one account at a time.
 *
 * <ul>
 *   <li>Bounded: it fills at most {@value #SHARE_PERCENT} % of the cache's bound, leaving the rest
 *       to the memos and user indexes requests add to the days. It never evicts, so it never pushes
 *       out a day a request loaded: an account whose window does not fit in the room left is
 *       skipped (logged and counted), and the accounts after it are still tried, so one huge
 *       account early in the order does not leave every smaller one cold. It stops when the order
 *       is exhausted, or when the room left is less than the smallest day takes ({@link
 *       DayStore#SMALLEST_DAY}), since no account could fit any more.
 *   <li>Low priority: before each account it waits while a request is loading days, and it loads on
 *       its own thread, never on the worker pool. A request for the account it is loading joins
 *       that load ({@link DayLoader}).
 *   <li>Failures (ClickHouse down, no poll yet) are logged once per run of them, with the reason,
 *       and retried with a backoff of {@link #FIRST_RETRY} doubling to {@link #LAST_RETRY}; the
 *       service serves meanwhile.
 * </ul>
 *
 * {@link #ready()} is false while it runs, for at most the configured wait: readiness then keeps a
 * rolling update on the old instance until this one is warm.
 */
public final class CacheWarmup implements AutoCloseable {

  /** The accounts to warm, most recently active first. */
  @FunctionalInterface
  public interface AccountOrder {
    List<String> recentAccounts(LocalDate from, LocalDate to);
  }

  private static final Logger LOG = LoggerFactory.getLogger(CacheWarmup.class);

  /** The share of the cache's bound the warm-up fills, in percent. */
  static final int SHARE_PERCENT = 75;

  static final Duration FIRST_RETRY = Duration.ofMillis(500);
  static final Duration LAST_RETRY = Duration.ofSeconds(10);

  /**
   * How often the warm-up looks again while it waits for the first poll or for a request's load.
   */
  private static final Duration GIVE_WAY = Duration.ofMillis(10);

  private final CompletedDayCache cache;
  private final AccountOrder order;
  private final Clock clock;
  private final boolean on;
  private final Duration maxWait;
  private final long startedNanos = System.nanoTime();

  private final AtomicLong planned = new AtomicLong(-1);
  private final AtomicLong loaded = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final Counter failures;
  private final Counter skipped;

  /** {@link System#nanoTime} when it finished; 0 while it runs. */
  private volatile long doneNanos;

  private Thread thread;

  /**
   * @param on false: nothing is loaded and the warm-up counts as done at once
   * @param maxWait how long {@link #ready()} stays false while the warm-up runs
   */
  public CacheWarmup(
      CompletedDayCache cache,
      AccountOrder order,
      Clock clock,
      boolean on,
      Duration maxWait,
      MeterRegistry metrics) {
    this.cache = cache;
    this.order = order;
    this.clock = clock;
    this.on = on && cache.enabled();
    this.maxWait = maxWait;
    Gauge.builder("activity_cache_warmup_accounts", loaded, AtomicLong::get)
        .description(
            "Accounts whose window the warm-up at start loaded (loaded) or means to (planned)")
        .tag("progress", "loaded")
        .register(metrics);
    Gauge.builder(
            "activity_cache_warmup_accounts", planned, p -> p.get() < 0 ? Double.NaN : p.get())
        .description(
            "Accounts whose window the warm-up at start loaded (loaded) or means to (planned)")
        .tag("progress", "planned")
        .register(metrics);
    Gauge.builder("activity_cache_warmup_bytes", bytes, AtomicLong::get)
        .description("Estimated heap bytes of the days the warm-up at start kept in the cache")
        .register(metrics);
    Gauge.builder("activity_cache_warmup_done", this, w -> w.done() ? 1 : 0)
        .description("1 once the warm-up at start has finished (or is off), else 0")
        .register(metrics);
    Gauge.builder("activity_cache_warmup_seconds", this, CacheWarmup::durationSeconds)
        .description(
            "Seconds from the service's start to the end of the warm-up (NaN while it runs)")
        .register(metrics);
    failures =
        Counter.builder("activity_cache_warmup_failures")
            .description("Attempts of the warm-up at start that failed and were retried")
            .register(metrics);
    skipped =
        Counter.builder("activity_cache_warmup_accounts_skipped")
            .description(
                "Accounts the warm-up at start skipped: their window did not fit in the room left")
            .register(metrics);
  }

  /** Starts the warm-up on its own thread; when off, it is done at once. */
  public synchronized void start() {
    if (!on) {
      planned.set(0);
      doneNanos = System.nanoTime();
      return;
    }
    if (thread == null) {
      thread = new Thread(this::run, "activity-cache-warmup");
      thread.setDaemon(true);
      thread.setPriority(Thread.MIN_PRIORITY);
      thread.start();
    }
  }

  /** Whether the warm-up has finished (or is off). */
  public boolean done() {
    return doneNanos != 0;
  }

  /** Whether readiness may report the service ready: the warm-up is done, or waited long enough. */
  public boolean ready() {
    return done() || System.nanoTime() - startedNanos >= maxWait.toNanos();
  }

  @Override
  public synchronized void close() {
    if (thread != null) {
      thread.interrupt();
      thread = null;
    }
  }

  private void run() {
    long retry = FIRST_RETRY.toMillis();
    boolean failing = false;
    List<String> accounts = null;
    int next = 0;
    long limit = cache.maxBytes() / 100 * SHARE_PERCENT;
    try {
      while (true) {
        try {
          if (!cache.serving()) {
            Thread.sleep(GIVE_WAY.toMillis()); // the poller logs why it does not succeed
            continue;
          }
          if (accounts == null) {
            LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
            accounts =
                order.recentAccounts(
                    today.minusDays(ActivityRequest.WINDOW_DAYS), today.minusDays(1));
            planned.set(accounts.size());
          }
          boolean full = false;
          while (next < accounts.size()) {
            if (cache.room(limit) < DayStore.SMALLEST_DAY) {
              full = true;
              break;
            }
            while (cache.requestsLoading()) {
              Thread.sleep(GIVE_WAY.toMillis());
            }
            String account = accounts.get(next);
            long kept = cache.warm(account, limit);
            if (kept < 0) {
              skipped.increment();
              LOG.info(
                  "the cache warm-up skips account {}: its window does not fit in the {} bytes left"
                      + " of {} % of CACHE_MAX_BYTES; it goes on with the next accounts",
                  account, Math.max(0, cache.room(limit)), SHARE_PERCENT);
            } else {
              bytes.addAndGet(kept);
              loaded.incrementAndGet();
            }
            next++;
          }
          if (failing) {
            LOG.info("the cache warm-up works again");
          }
          finish(accounts.size(), full);
          return;
        } catch (RuntimeException e) {
          failures.increment();
          if (!failing) {
            // Once per run of failures; each retry would repeat the same reason.
            LOG.warn(
                "the cache warm-up failed ({}); retrying with a backoff up to {} s, serving meanwhile",
                e.toString(),
                LAST_RETRY.toSeconds());
            failing = true;
          }
          Thread.sleep(retry);
          retry = Math.min(retry * 2, LAST_RETRY.toMillis());
        }
      }
    } catch (InterruptedException e) {
      // The service is closing.
      Thread.currentThread().interrupt();
    }
  }

  private void finish(int accounts, boolean full) {
    doneNanos = System.nanoTime();
    LOG.info(
        "cache warm-up done in {} s: {} of {} accounts, {} skipped as too large, {} bytes{}",
        String.format("%.1f", durationSeconds()),
        loaded.get(),
        accounts,
        (long) skipped.count(),
        bytes.get(),
        full
            ? " (stopped: what is left of "
                + SHARE_PERCENT
                + " % of CACHE_MAX_BYTES is less than one day takes)"
            : "");
  }

  private double durationSeconds() {
    long done = doneNanos;
    return done == 0 ? Double.NaN : (done - startedNanos) / 1e9;
  }
}
