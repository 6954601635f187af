package io.tallyhouse.common.money;

import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;

/**
 * Totals of money (sums of {@code cost} or {@code byok_cost}): how ClickHouse sums them, and the
 * one strict reader of every total a service serves, exports or compares.
 *
 * <p>Why a reader must distrust a total: ClickHouse 18.16 sums Decimal(38,12) in a 128-bit integer
 * without checking overflow (two amounts of 10^26 - 1 summed to
 * -140282366920938463463374609.431768211456), and its {@code toString(Decimal)} prints NUL bytes
 * instead of digits once the integer part has more than 21 digits. The contract bounds an event's
 * amount to 0..10^9, so a legal total is never negative, never above {@code requests * 10^9}, and
 * stays below 10^26, the bound of Decimal(38,12). A total outside that cannot be right: it is
 * refused with {@link ImpossibleTotalException}, never served.
 */
public final class MoneyTotals {

  private static final int SCALE = Money.SCALE;
  private static final int MAX_INTEGER_DIGITS = Money.MAX_INTEGER_DIGITS;

  /**
   * The most one event may cost, in {@code cost} and in {@code byok_cost} (the contract's bound),
   * unscaled.
   */
  private static final BigInteger UNSCALED_PER_EVENT = Money.unscaled(Money.MAX);

  private MoneyTotals() {}

  /**
   * The SELECT expressions that sum {@code column} (Decimal(38,12)) and let {@link #total} prove
   * the sum did not wrap, as four values named by {@link #aliases}: the sum; the sum of the rows'
   * whole parts as Decimal(38,0), whose range is 10^12 times wider, so it cannot wrap; how many
   * rows are negative; and how many rows there are. Each row's fraction is below 1, so an unwrapped
   * sum is within the row count of the whole parts' sum, while a wrapped one is about 3.4 * 10^26
   * away. (Summing whole parts and fractions separately needs no check, but 18.16's Decimal
   * subtraction per row costs more than the check's count.) No toString: the output formats print
   * every digit, toString does not. The aliases never repeat a column name (18.16 breaks).
   */
  public static String sumSql(String column, String alias) {
    List<String> names = aliases(alias);
    return "sum("
        + column
        + ") AS "
        + names.get(0)
        + ", sum(toDecimal128("
        + column
        + ", 0)) AS "
        + names.get(1)
        + ", countIf("
        + column
        + " < 0) AS "
        + names.get(2)
        + ", count() AS "
        + names.get(3);
  }

  /**
   * The names {@link #sumSql} gives its four values: sum, whole parts' sum, negative rows, rows.
   */
  public static List<String> aliases(String alias) {
    return List.of(alias, alias + "_whole", alias + "_negative", alias + "_rows");
  }

  /**
   * The total that the four texts {@link #sumSql} selected vouch for, at scale 12, for {@code
   * requests} events. Throws {@link ImpossibleTotalException} naming {@code field} unless the sum
   * and the whole parts' sum are plain decimal digits (at most 12 after the point), no row is
   * negative, the sum is within the row count of the whole parts' sum (so it did not wrap), and the
   * total is at most {@code requests * 10^9} (so below 10^26 too).
   */
  public static BigDecimal total(
      String field,
      String sumText,
      String wholeText,
      String negativeText,
      String rowsText,
      BigInteger requests) {
    if (!"0".equals(negativeText)) {
      throw new ImpossibleTotalException(
          field + " sums " + printable(negativeText) + " negative rows");
    }
    BigDecimal total = amount(field, sumText);
    BigDecimal whole = amount(field + " (whole parts)", wholeText);
    BigDecimal rows = amount(field + " (rows)", rowsText);
    // Truncated whole parts leave the sum 0..rows above them; a rounding server, less than rows
    // either side.
    if (total.subtract(whole).abs().compareTo(rows) >= 0) {
      throw new ImpossibleTotalException(
          field
              + " sum "
              + total.toPlainString()
              + " of "
              + rows.toBigInteger()
              + " rows has wrapped: their whole parts sum to "
              + whole.toPlainString());
    }
    return checkTotal(field, total, requests);
  }

  /**
   * {@code total} (scale 12) if it can be the sum of {@code requests} legal events: not negative,
   * at most {@code requests * 10^9}, below 10^26. Else throws {@link ImpossibleTotalException}
   * naming {@code field}.
   */
  public static BigDecimal checkTotal(String field, BigDecimal total, BigInteger requests) {
    BigInteger unscaled = checkAmount(field, total).unscaledValue();
    if (unscaled.compareTo(requests.multiply(UNSCALED_PER_EVENT)) > 0) {
      throw new ImpossibleTotalException(
          field
              + " "
              + total.toPlainString()
              + " exceeds "
              + requests
              + " requests at the most an event may cost (10^9)");
    }
    return total.setScale(SCALE);
  }

  /**
   * {@code value} at scale 12 if Decimal(38,12) holds it and it is not negative; else throws {@link
   * ImpossibleTotalException} naming {@code field}.
   */
  public static BigDecimal checkAmount(String field, BigDecimal value) {
    BigDecimal scaled;
    try {
      scaled = value.setScale(SCALE);
    } catch (ArithmeticException e) {
      throw new ImpossibleTotalException(
          field + " " + value.toPlainString() + " has more than " + SCALE + " fractional digits");
    }
    if (scaled.signum() < 0) {
      throw new ImpossibleTotalException(field + " " + value.toPlainString() + " is negative");
    }
    // Below 10^26 at scale 12 is at most 38 digits; precision() allocates nothing for the common
    // small amounts.
    if (scaled.precision() > MAX_INTEGER_DIGITS + SCALE) {
      throw new ImpossibleTotalException(
          field
              + " "
              + value.toPlainString()
              + " is not below 10^"
              + MAX_INTEGER_DIGITS
              + " (Decimal(38,12))");
    }
    return scaled;
  }

  /**
   * Reads an amount as ClickHouse prints it: ASCII digits, optionally a point and 1-12 more digits
   * (no sign, no exponent, no spaces), below 10^26. Anything else (a wrapped negative sum,
   * toString's NUL bytes) throws {@link ImpossibleTotalException} naming {@code field}.
   */
  public static BigDecimal amount(String field, String text) {
    if (text == null) {
      throw new ImpossibleTotalException(field + " is missing");
    }
    int point = text.indexOf('.');
    int wholeDigits = point < 0 ? text.length() : point;
    int fractionDigits = point < 0 ? 0 : text.length() - point - 1;
    boolean plain =
        wholeDigits >= 1
            && wholeDigits <= MAX_INTEGER_DIGITS
            && (point < 0 || fractionDigits >= 1 && fractionDigits <= SCALE);
    for (int i = 0; plain && i < text.length(); i++) {
      char c = text.charAt(i);
      plain = c >= '0' && c <= '9' || i == point;
    }
    if (!plain) {
      throw new ImpossibleTotalException(
          field + " is not an amount of Decimal(38,12) at or above 0: " + printable(text));
    }
    return new BigDecimal(text).setScale(SCALE);
  }

  /**
   * At most 64 characters of {@code text}, control characters as {@code \\uXXXX}, for an error
   * message.
   */
  private static String printable(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (int i = 0; i < Math.min(text.length(), 64); i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append(text.length() > 64 ? "\"..." : "\"").toString();
  }
}
