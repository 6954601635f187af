package io.tallyhouse.query.cache;

import java.time.LocalDate;
import java.util.Collection;
import java.util.Map;

/**
 * What the cache reads from ClickHouse: the rows of completed days and the change markers that
 * invalidate them.
 */
public interface CompletedDaySource {

  /**
   * The rows of {@code days} of {@code account} summed over shards, one per (day, api key, user,
   * endpoint), read with one statement.
   */
  DayLoad completedDays(String account, Collection<LocalDate> days);

  /**
   * {@code sum(inserts)} of {@code usage_daily_changes} per account and day of {@code [from, to]}:
   * per account an array indexed by days since {@code from}, 0 for a day without a marker.
   */
  Map<String, long[]> changeMarkers(LocalDate from, LocalDate to);

  /**
   * {@code sum(inserts)} of the whole window {@code [from, to]}: it grows with every write to any
   * of its days.
   */
  long changeMarkerTotal(LocalDate from, LocalDate to);
}
