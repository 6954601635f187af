package io.tallyhouse.query.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.io.IOException;
import java.math.BigDecimal;

/**
 * How the answers write an amount and a string as JSON text, so every writer of an item writes the
 * same bytes.
 */
public final class JsonText {

  private JsonText() {}

  /**
   * 1.500000000000 -> 1.5 and 0E-12 -> 0 (written with toPlainString, so never with an exponent).
   */
  public static BigDecimal plain(BigDecimal value) {
    BigDecimal stripped = value.stripTrailingZeros();
    // stripTrailingZeros turns 100 into 1E+2; a non-negative scale keeps integers as integers.
    return stripped.scale() < 0 ? stripped.setScale(0) : stripped;
  }

  /** {@code value} as a JSON string, escaped as Jackson's generator escapes it. */
  public static String quoted(String value) {
    return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(value)) + "\"";
  }

  /** Writes {@code field} as an exact JSON number, {@link #plain} and without an exponent. */
  public static void writeMoneyField(JsonGenerator json, String field, BigDecimal amount)
      throws IOException {
    json.writeFieldName(field);
    json.writeNumber(plain(amount).toPlainString());
  }

  /** Writes {@code field} as a string, or as JSON null when {@code value} is null. */
  public static void writeNullableStringField(JsonGenerator json, String field, String value)
      throws IOException {
    if (value == null) {
      json.writeNullField(field);
    } else {
      json.writeStringField(field, value);
    }
  }
}
