package io.tallyhouse.query.cache;

import java.time.LocalDate;
import java.util.Map;

/**
 * One successful poll of {@code usage_daily_changes}: the marker sums of the window {@code [from,
 * to]} it read (per account, indexed by days since {@code from}), their total, and when the poll
 * started ({@link System#nanoTime}).
 */
record ChangeMarkers(
    LocalDate from, LocalDate to, Map<String, long[]> sums, long total, long startedNanos) {

  /** The sums of a window as read, with their total. */
  static ChangeMarkers of(
      LocalDate from, LocalDate to, Map<String, long[]> sums, long startedNanos) {
    long total = 0;
    for (long[] perDay : sums.values()) {
      for (long sum : perDay) {
        total += sum;
      }
    }
    return new ChangeMarkers(from, to, sums, total, startedNanos);
  }

  /** The same sums, confirmed by a poll that started at {@code startedNanos}. */
  ChangeMarkers confirmedAt(long startedNanos) {
    return new ChangeMarkers(from, to, sums, total, startedNanos);
  }

  /** The marker sum of {@code account}'s {@code date}; 0 for a day no write reached. */
  long of(String account, LocalDate date) {
    long[] perDay = sums.get(account);
    return perDay == null ? 0 : perDay[(int) (date.toEpochDay() - from.toEpochDay())];
  }

  boolean covers(LocalDate first, LocalDate last) {
    return !first.isBefore(from) && !last.isAfter(to);
  }

  int days() {
    return (int) (to.toEpochDay() - from.toEpochDay()) + 1;
  }
}
