package io.tallyhouse.query.cache;

import io.tallyhouse.query.activity.ActivityRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the change markers of the window every interval, on its own thread, and hands them to the
 * store, which drops the days they show changed. Sums only grow, so an unchanged total of the
 * window means no day changed: then one row is read instead of one per account and day.
 */
final class ChangePoller implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ChangePoller.class);

  private final CompletedDaySource source;
  private final DayStore store;
  private final Clock clock;
  private final Duration interval;
  private final CacheMetrics metrics;
  private final AtomicLong polls = new AtomicLong();
  private ScheduledExecutorService thread;
  private boolean failing;

  ChangePoller(
      CompletedDaySource source,
      DayStore store,
      Clock clock,
      Duration interval,
      CacheMetrics metrics) {
    this.source = source;
    this.store = store;
    this.clock = clock;
    this.interval = interval;
    this.metrics = metrics;
  }

  /** Starts polling every interval, the first poll at once. */
  synchronized void start() {
    if (thread == null) {
      thread =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread poller = new Thread(r, "activity-cache-poll");
                poller.setDaemon(true);
                return poller;
              });
      thread.scheduleWithFixedDelay(
          this::pollQuietly, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public synchronized void close() {
    if (thread != null) {
      thread.shutdownNow();
      thread = null;
    }
  }

  /**
   * Reads the markers of the window and installs them in the store; throws when ClickHouse does not
   * answer.
   */
  void poll() {
    long started = System.nanoTime();
    LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    LocalDate from = today.minusDays(ActivityRequest.WINDOW_DAYS);
    LocalDate to = today.minusDays(1);
    ChangeMarkers previous = store.markers();
    if (previous != null
        && previous.from().equals(from)
        && source.changeMarkerTotal(from, to) == previous.total()) {
      store.confirm(previous.confirmedAt(started));
    } else {
      store.replace(ChangeMarkers.of(from, to, source.changeMarkers(from, to), started));
    }
    polls.incrementAndGet();
  }

  /** Successful polls so far. */
  long polls() {
    return polls.get();
  }

  private void pollQuietly() {
    try {
      poll();
      if (failing) {
        LOG.info("polling the change markers works again");
        failing = false;
      }
    } catch (RuntimeException e) {
      metrics.pollFailures.increment();
      if (!failing) {
        // Logged once per run of failures; the cache stops answering after STALE_POLLS intervals of
        // them.
        LOG.warn(
            "polling the change markers failed; the cache answers again after the next successful poll",
            e);
        failing = true;
      }
    }
  }
}
