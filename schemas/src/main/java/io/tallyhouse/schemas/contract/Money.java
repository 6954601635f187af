package io.tallyhouse.schemas.contract;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.regex.Pattern;

/**
 * The money type of the contract, shared by every component: exact USD amounts at scale 12, the
 * scale of Avro decimal(38,12) and ClickHouse Decimal(38,12). Parsed from the decimal text the
 * client sent (never through a double), checked against the contract's money rule ({@link
 * EventRules#moneyProblem}: 0 to {@link #MAX}, at most 12 fractional digits).
 */
public final class Money {

  /** Fractional digits of every amount and every total. */
  public static final int SCALE = 12;

  /**
   * The largest amount one event may carry: keeps any sum of up to 10^17 amounts inside
   * Decimal(38,12).
   */
  public static final BigDecimal MAX = BigDecimal.valueOf(1_000_000_000L);

  /** Integer digits Decimal(38,12) holds. */
  public static final int MAX_INTEGER_DIGITS = 38 - SCALE;

  /** Zero at scale 12. */
  public static final BigDecimal ZERO = BigDecimal.ZERO.setScale(SCALE);

  private static final Pattern DECIMAL_TEXT =
      Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d{1,4})?");

  private Money() {}

  /**
   * Parses decimal text such as {@code 0.25}, {@code 4.3022187e-05}; returns an error message or
   * the amount.
   */
  public static Result parse(String text) {
    if (text == null || !DECIMAL_TEXT.matcher(text).matches()) {
      return Result.error("must be a decimal number");
    }
    return check(new BigDecimal(text));
  }

  /** Checks an amount Jackson already parsed exactly from a JSON number. */
  public static Result check(BigDecimal value) {
    String problem = EventRules.moneyProblem(value);
    if (problem != null) {
      return Result.error(problem);
    }
    return new Result(value.setScale(SCALE, RoundingMode.UNNECESSARY), null);
  }

  /** An amount at scale 12 from its unscaled value (the amount times 10^12). */
  public static BigDecimal ofUnscaled(BigInteger unscaled) {
    return new BigDecimal(unscaled, SCALE);
  }

  /** An amount at scale 12 from its unscaled value (the amount times 10^12). */
  public static BigDecimal ofUnscaled(long unscaled) {
    return BigDecimal.valueOf(unscaled, SCALE);
  }

  /**
   * The amount times 10^12; throws ArithmeticException when it has more than 12 fractional digits.
   */
  public static BigInteger unscaled(BigDecimal amount) {
    return amount.setScale(SCALE, RoundingMode.UNNECESSARY).unscaledValue();
  }

  /** Either an exact amount at scale 12 or why the input is not one. */
  public record Result(BigDecimal value, String error) {
    static Result error(String message) {
      return new Result(null, message);
    }

    public boolean ok() {
      return error == null;
    }
  }
}
