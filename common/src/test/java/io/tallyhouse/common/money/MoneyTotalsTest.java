package io.tallyhouse.common.money;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MoneyTotalsTest {

  private static final BigInteger MANY = BigInteger.TEN.pow(17);

  @ParameterizedTest
  @ValueSource(
      strings = {
        "0",
        "0.5",
        "1.250000000000",
        "1000000000",
        "99999999999999999999999999.999999999999",
        "12345678901234567890123456"
      })
  void plainAmountsAreReadExactlyAtScale12(String text) {
    BigDecimal read = MoneyTotals.amount("usage", text);
    assertEquals(12, read.scale());
    assertEquals(0, new BigDecimal(text).compareTo(read));
  }

  /**
   * A wrapped 18.16 sum, toString's NUL bytes beyond 21 digits, forms no server prints, and too
   * many digits.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "-140282366920938463463374609.431768211456",
        "1\u000034567890123456789012.123456789012",
        "",
        ".5",
        "5.",
        "+1",
        "1e3",
        "1E+2",
        " 1",
        "1 ",
        "0x10",
        "1.0000000000001",
        "100000000000000000000000000",
        "١٢",
        "NaN",
        "1,5",
        "null"
      })
  void anythingElseIsAnImpossibleTotalNamingTheField(String text) {
    ImpossibleTotalException e =
        assertThrows(ImpossibleTotalException.class, () -> MoneyTotals.amount("usage", text));
    assertTrue(e.getMessage().startsWith("usage "), e.getMessage());
    assertTrue(
        e.getMessage().chars().noneMatch(c -> c < 0x20),
        "no control characters in " + e.getMessage());
  }

  @Test
  void aSumWithinItsRowCountOfTheWholePartsIsTheTotal() {
    assertEquals(
        new BigDecimal("2000000001.999999999998"),
        MoneyTotals.total(
            "usage", "2000000001.999999999998", "1999999999", "0", "3", BigInteger.valueOf(3)));
    // 25.x prints no trailing zeros; a server that rounds whole parts leaves the sum less than the
    // rows either side.
    assertEquals(
        new BigDecimal("1.250000000000"),
        MoneyTotals.total("usage", "1.25", "2", "0", "2", BigInteger.TWO));
  }

  @Test
  void aSumThatWrappedIsImpossibleEvenWhenItLooksLegal() {
    // Four rows of 10^26 - 1: 18.16's sum wraps to about 6 * 10^25, far from the whole parts' true
    // sum.
    ImpossibleTotalException e =
        assertThrows(
            ImpossibleTotalException.class,
            () ->
                MoneyTotals.total(
                    "usage",
                    "59717633079061536536625386.264463788032",
                    "399999999999999999999999996",
                    "0",
                    "4",
                    MANY));
    assertTrue(e.getMessage().startsWith("usage (whole parts) "), e.getMessage());
    ImpossibleTotalException shifted =
        assertThrows(
            ImpossibleTotalException.class,
            () -> MoneyTotals.total("usage", "10.5", "7", "0", "3", MANY));
    assertTrue(shifted.getMessage().contains("wrapped"), shifted.getMessage());
    assertThrows(
        ImpossibleTotalException.class,
        () ->
            MoneyTotals.total(
                "usage",
                "-140282366920938463463374609.431768211456",
                "199999999999999999999999998",
                "0",
                "2",
                MANY));
  }

  @Test
  void theLargestLegalTotalIsServedAndOneMoreUnitIsNot() {
    BigDecimal largest = new BigDecimal("99999999999999999999999999.999999999999");
    assertEquals(largest, MoneyTotals.checkTotal("usage", largest, MANY));
    assertThrows(
        ImpossibleTotalException.class,
        () -> MoneyTotals.checkTotal("usage", largest.add(new BigDecimal("0.000000000001")), MANY));
    assertThrows(
        ImpossibleTotalException.class,
        () ->
            MoneyTotals.total(
                "usage",
                "100000000000000000000000000",
                "100000000000000000000000000",
                "0",
                "1",
                MANY));
  }

  @Test
  void aTotalAboveRequestsTimesTheEventBoundIsImpossible() {
    assertEquals(
        new BigDecimal("3000000000.000000000000"),
        MoneyTotals.checkTotal("usage", new BigDecimal("3000000000"), BigInteger.valueOf(3)));
    ImpossibleTotalException e =
        assertThrows(
            ImpossibleTotalException.class,
            () ->
                MoneyTotals.checkTotal(
                    "usage", new BigDecimal("3000000000.000000000001"), BigInteger.valueOf(3)));
    assertTrue(e.getMessage().contains("3 requests"), e.getMessage());
    assertThrows(
        ImpossibleTotalException.class,
        () -> MoneyTotals.checkTotal("usage", new BigDecimal("0.000000000001"), BigInteger.ZERO));
  }

  @Test
  void aNegativeRowMakesTheTotalImpossibleEvenWhenTheSumLooksFine() {
    ImpossibleTotalException e =
        assertThrows(
            ImpossibleTotalException.class,
            () -> MoneyTotals.total("byok_usage_inference", "5", "5", "1", "2", BigInteger.TEN));
    assertTrue(
        e.getMessage().startsWith("byok_usage_inference sums \"1\" negative rows"), e.getMessage());
  }

  @Test
  void checkAmountRefusesNegativeTooLargeAndTooFine() {
    assertThrows(
        ImpossibleTotalException.class,
        () -> MoneyTotals.checkAmount("cost", new BigDecimal("-0.1")));
    assertThrows(
        ImpossibleTotalException.class,
        () -> MoneyTotals.checkAmount("cost", BigDecimal.TEN.pow(26)));
    assertThrows(
        ImpossibleTotalException.class,
        () -> MoneyTotals.checkAmount("cost", new BigDecimal("0.0000000000001")));
    assertEquals(
        new BigDecimal("1E+3").setScale(12),
        MoneyTotals.checkAmount("cost", new BigDecimal("1E+3")));
  }

  @Test
  void sumSqlNamesItsFourValuesByTheAliases() {
    assertEquals(
        "sum(usage) AS usage_sum, sum(toDecimal128(usage, 0)) AS usage_sum_whole,"
            + " countIf(usage < 0) AS usage_sum_negative, count() AS usage_sum_rows",
        MoneyTotals.sumSql("usage", "usage_sum"));
    assertEquals(
        List.of("usage_sum", "usage_sum_whole", "usage_sum_negative", "usage_sum_rows"),
        MoneyTotals.aliases("usage_sum"));
  }
}
