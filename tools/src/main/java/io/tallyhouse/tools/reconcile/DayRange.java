package io.tallyhouse.tools.reconcile;

import java.time.LocalDate;

/** The UTC days reconcile compares, both ends included. */
record DayRange(LocalDate from, LocalDate to) {

  DayRange {
    if (from.isAfter(to)) {
      throw new IllegalArgumentException(
          "--from "
              + from
              + " is after --to "
              + to
              + "; give the first day as --from and the last as --to");
    }
  }

  /**
   * {@code from} and {@code to} as given; a missing one defaults to the raw table's retention up to
   * {@code today} (older days have no raw rows to compare).
   */
  static DayRange of(LocalDate from, LocalDate to, LocalDate today, int retentionDays) {
    return new DayRange(
        from != null ? from : today.minusDays(retentionDays - 1L), to != null ? to : today);
  }
}
