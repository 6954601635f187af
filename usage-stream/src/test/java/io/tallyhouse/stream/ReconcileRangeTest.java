package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.LocalDate;
import org.junit.jupiter.api.Test;

/** The days `reconcile` compares, and its answers to arguments it cannot use. */
class ReconcileRangeTest {

  private static final LocalDate TODAY = LocalDate.parse("2026-11-24");

  @Test
  void byDefaultTheRawTablesRetentionUpToToday() {
    assertEquals(new Reconcile.Range(LocalDate.parse("2026-11-15"), TODAY),
        Reconcile.Range.parse(new String[0], TODAY, 10));
  }

  @Test
  void fromAndToInAnyOrderAndEitherAlone() {
    assertEquals(new Reconcile.Range(LocalDate.parse("2026-10-01"), LocalDate.parse("2026-10-31")),
        Reconcile.Range.parse(new String[] {"--to", "2026-10-31", "--from", "2026-10-01"}, TODAY, 400));
    assertEquals(new Reconcile.Range(LocalDate.parse("2026-11-01"), TODAY),
        Reconcile.Range.parse(new String[] {"--from", "2026-11-01"}, TODAY, 400));
  }

  @Test
  void unusableArgumentsAreNamedWithTheirProblem() {
    assertEquals("unknown argument --since", parseError("--since", "2026-11-01"));
    assertEquals("--from needs a date (YYYY-MM-DD)", parseError("--from"));
    assertEquals("--to is not a date (YYYY-MM-DD): 2026-11-31", parseError("--to", "2026-11-31"));
    assertEquals("--from 2026-11-02 is after --to 2026-11-01",
        parseError("--from", "2026-11-02", "--to", "2026-11-01"));
  }

  private static String parseError(String... args) {
    return assertThrows(IllegalArgumentException.class, () -> Reconcile.Range.parse(args, TODAY, 400)).getMessage();
  }
}
