package io.tallyhouse.query.cache;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cached days and the markers they are checked against: least recently used first, within a
 * bound of estimated bytes. A day is only kept under the marker of the latest poll, and a poll's
 * drops and the markers it installs happen under one lock with the stores, so a day is either
 * stored before a poll that drops it or checked against that poll, never missed by both.
 */
final class DayStore {

  private record DayKey(String account, LocalDate date) {}

  /**
   * A cached day and its estimated bytes (as loaded, then its memos and user index as they are
   * added).
   */
  private static final class Entry {
    private final CachedDay day;
    private long weight;

    Entry(CachedDay day) {
      this.day = day;
      this.weight = HeapEstimate.ENTRY + day.footprint();
    }
  }

  private final long maxBytes;

  /** Access-ordered, so iteration starts at the least recently used day. Guarded by itself. */
  private final LinkedHashMap<DayKey, Entry> days = new LinkedHashMap<>(1024, 0.75f, true);

  /** Sum of the entries' weights; guarded by {@link #days}. */
  private long weight;

  /** The latest successful poll; replaced under {@link #days} together with the drops it causes. */
  private volatile ChangeMarkers markers;

  private final CacheMetrics metrics;

  DayStore(long maxBytes, CacheMetrics metrics) {
    this.maxBytes = maxBytes;
    this.metrics = metrics;
    metrics.observe(this);
  }

  /** The markers of the latest successful poll, or null before the first. */
  ChangeMarkers markers() {
    return markers;
  }

  /** The cached days of {@code account} in {@code [from, to]}, by date; missing days are absent. */
  Map<LocalDate, CachedDay> lookup(String account, LocalDate from, LocalDate to) {
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

  /** The days of {@code account} in {@code [first, last]} not in memory. */
  List<LocalDate> missing(String account, LocalDate first, LocalDate last) {
    List<LocalDate> missing = new ArrayList<>();
    synchronized (days) {
      for (LocalDate date = first; !date.isAfter(last); date = date.plusDays(1)) {
        if (!days.containsKey(new DayKey(account, date))) {
          missing.add(date);
        }
      }
    }
    return missing;
  }

  /**
   * Keeps the loaded days whose marker the latest poll still shows and that fit the bound alone.
   */
  void store(String account, Iterable<CachedDay> loaded) {
    synchronized (days) {
      for (Entry entry : keepable(account, loaded)) {
        put(account, entry);
      }
      evictToBound();
    }
  }

  /**
   * The least any kept day weighs, whatever its rows: the cache's entry for it and the day's own
   * fields. With less room than this a load can keep nothing.
   */
  static final long SMALLEST_DAY = HeapEstimate.ENTRY + HeapEstimate.DAY;

  /** What {@code limit} leaves beside the days held now (negative when they weigh more). */
  long room(long limit) {
    synchronized (days) {
      return limit - weight;
    }
  }

  /**
   * Keeps the days {@link #store} would keep if, together with what is held, they weigh at most
   * {@code limit}; otherwise keeps none of them. Never evicts.
   *
   * @return the estimated bytes kept, or -1 when they did not fit
   */
  long storeWithin(String account, Iterable<CachedDay> loaded, long limit) {
    synchronized (days) {
      List<Entry> keep = keepable(account, loaded);
      long added = 0;
      for (Entry entry : keep) {
        added += entry.weight;
      }
      if (weight + added > limit) {
        return -1;
      }
      for (Entry entry : keep) {
        put(account, entry);
      }
      return added;
    }
  }

  /**
   * The entries of the loaded days whose marker the latest poll still shows and that fit the bound
   * alone: the others answer the requests waiting for them but are stale already (or too large to
   * keep). Under {@link #days}.
   */
  private List<Entry> keepable(String account, Iterable<CachedDay> loaded) {
    ChangeMarkers latest = markers;
    List<Entry> keep = new ArrayList<>();
    for (CachedDay day : loaded) {
      Entry entry = new Entry(day);
      if (latest.covers(day.date(), day.date())
          && latest.of(account, day.date()) == day.marker()
          && entry.weight <= maxBytes) {
        keep.add(entry);
      }
    }
    return keep;
  }

  /** Holds {@code entry}, replacing the account's day if it was held. Under {@link #days}. */
  private void put(String account, Entry entry) {
    Entry previous = days.put(new DayKey(account, entry.day.date()), entry);
    weight += entry.weight - (previous == null ? 0 : previous.weight);
  }

  /**
   * Counts {@code bytes} memoized by {@code day} against the bound, if the day is still the cached
   * one.
   */
  void charge(String account, CachedDay day, long bytes) {
    synchronized (days) {
      Entry entry = days.get(new DayKey(account, day.date()));
      if (entry != null && entry.day == day) {
        entry.weight += bytes;
        weight += bytes;
        evictToBound();
      }
    }
  }

  /**
   * Drops the least recently used days until the weight is within the bound. Under {@link #days}.
   */
  private void evictToBound() {
    Iterator<Entry> eldest = days.values().iterator();
    while (weight > maxBytes && eldest.hasNext()) {
      weight -= eldest.next().weight;
      eldest.remove();
      metrics.evictedForSize.increment();
    }
  }

  /** A poll found the window's total unchanged: no day changed, the same sums are confirmed. */
  void confirm(ChangeMarkers confirmed) {
    markers = confirmed;
  }

  /**
   * Installs the markers of a poll that read them per account and day: drops every cached day whose
   * sum differs from {@code fresh} (only those can be stale, since every cached day holds the
   * latest poll's marker) or that left the window.
   */
  void replace(ChangeMarkers fresh) {
    synchronized (days) {
      ChangeMarkers previous = markers;
      if (previous != null && previous.from().equals(fresh.from())) {
        dropChanged(previous, fresh);
      } else {
        dropAllBut(fresh);
      }
      markers = fresh;
    }
  }

  /**
   * Drops the cached days whose sum differs between two polls of the same window. Under {@link
   * #days}.
   */
  private void dropChanged(ChangeMarkers previous, ChangeMarkers fresh) {
    Set<String> accounts = new HashSet<>(previous.sums().keySet());
    accounts.addAll(fresh.sums().keySet());
    int length = fresh.days();
    for (String account : accounts) {
      long[] before = previous.sums().get(account);
      long[] after = fresh.sums().get(account);
      for (int d = 0; d < length; d++) {
        if ((before == null ? 0 : before[d]) != (after == null ? 0 : after[d])) {
          Entry dropped = days.remove(new DayKey(account, fresh.from().plusDays(d)));
          if (dropped != null) {
            weight -= dropped.weight;
            metrics.invalidations.increment();
          }
        }
      }
    }
  }

  /**
   * Drops the cached days outside {@code fresh}'s window or with another sum than its own. Under
   * {@link #days}.
   */
  private void dropAllBut(ChangeMarkers fresh) {
    Iterator<Map.Entry<DayKey, Entry>> entries = days.entrySet().iterator();
    while (entries.hasNext()) {
      Map.Entry<DayKey, Entry> entry = entries.next();
      DayKey key = entry.getKey();
      if (!fresh.covers(key.date(), key.date())) {
        metrics.evictedOutOfWindow.increment();
      } else if (fresh.of(key.account(), key.date()) != entry.getValue().day.marker()) {
        metrics.invalidations.increment();
      } else {
        continue;
      }
      weight -= entry.getValue().weight;
      entries.remove();
    }
  }

  double weight() {
    synchronized (days) {
      return weight;
    }
  }

  double size() {
    synchronized (days) {
      return days.size();
    }
  }
}
