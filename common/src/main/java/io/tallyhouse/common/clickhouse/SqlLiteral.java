package io.tallyhouse.common.clickhouse;

import java.time.LocalDate;
import java.util.regex.Pattern;

/**
 * The one audited place where values become SQL text. ClickHouse 18.16 has no server-side query
 * parameters, so every value in a query is rendered here and nowhere else.
 *
 * <p>In a ClickHouse single-quoted literal the backslash starts an escape sequence and the quote
 * ends the literal; escaping exactly those two (plus NUL, which some transports truncate at) leaves
 * no way for a value to leave the literal. Every other character, including newlines and Unicode,
 * is literal text inside quotes.
 */
public final class SqlLiteral {

  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");

  private SqlLiteral() {}

  /** {@code value} as a quoted ClickHouse string literal. */
  public static String string(String value) {
    if (value == null) {
      throw new IllegalArgumentException("null is not a string literal; use NULL explicitly");
    }
    StringBuilder out = new StringBuilder(value.length() + 2).append('\'');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> out.append("\\\\");
        case '\'' -> out.append("\\'");
        case '\0' -> out.append("\\0");
        default -> out.append(c);
      }
    }
    return out.append('\'').toString();
  }

  /** {@code date} as a ClickHouse Date expression. */
  public static String date(LocalDate date) {
    return "toDate('" + date + "')";
  }

  /** The rule {@link #identifier} enforces, in words. */
  public static final String IDENTIFIER_RULE =
      "must be a plain identifier: 1-64 letters, digits or _, not starting with a digit";

  /** Whether {@code name} is a plain identifier {@link #identifier} accepts. */
  public static boolean isIdentifier(String name) {
    return name != null && IDENTIFIER.matcher(name).matches();
  }

  /** A database or table name; only plain identifiers are accepted, never quoted user input. */
  public static String identifier(String name) {
    if (!isIdentifier(name)) {
      throw new IllegalArgumentException("not a plain identifier: " + name);
    }
    return name;
  }
}
