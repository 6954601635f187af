package io.tallyhouse.tools.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.LocalDate;
import org.junit.jupiter.api.Test;

/** The days `reconcile` compares. */
class ReconcileRangeTest {

  private static final LocalDate TODAY = LocalDate.parse("2026-11-24");

  @Test
  void byDefaultTheRawTablesRetentionUpToToday() {
    assertEquals(
        new DayRange(LocalDate.parse("2026-11-15"), TODAY), DayRange.of(null, null, TODAY, 10));
  }

  @Test
  void fromAndToEitherAlone() {
    assertEquals(
        new DayRange(LocalDate.parse("2026-10-01"), LocalDate.parse("2026-10-31")),
        DayRange.of(LocalDate.parse("2026-10-01"), LocalDate.parse("2026-10-31"), TODAY, 400));
    assertEquals(
        new DayRange(LocalDate.parse("2026-11-01"), TODAY),
        DayRange.of(LocalDate.parse("2026-11-01"), null, TODAY, 400));
    assertEquals(
        new DayRange(LocalDate.parse("2025-10-21"), LocalDate.parse("2026-10-31")),
        DayRange.of(null, LocalDate.parse("2026-10-31"), TODAY, 400));
  }

  @Test
  void fromAfterToIsRefusedSayingWhichIsWhich() {
    assertEquals(
        "--from 2026-11-02 is after --to 2026-11-01; give the first day as --from and the last as --to",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    DayRange.of(
                        LocalDate.parse("2026-11-02"), LocalDate.parse("2026-11-01"), TODAY, 400))
            .getMessage());
  }
}
