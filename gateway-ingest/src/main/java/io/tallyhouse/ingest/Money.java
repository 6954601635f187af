package io.tallyhouse.ingest;

import io.tallyhouse.schemas.EventRules;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.regex.Pattern;

/**
 * Exact USD amounts: parsed from the decimal text the client sent (never through a double), checked against the
 * contract's money rule ({@link EventRules#moneyProblem}: 0 to 10^9, at most 12 fractional digits) and brought to
 * scale 12, the scale of Avro decimal(38,12) and ClickHouse Decimal(38,12).
 */
public final class Money {

  public static final int SCALE = EventRules.MONEY_SCALE;
  private static final Pattern DECIMAL_TEXT = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d{1,4})?");

  private Money() {}

  /** Parses decimal text such as {@code 0.25}, {@code 4.3022187e-05}; returns an error message or the amount. */
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
