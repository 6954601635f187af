package io.tallyhouse.common.clickhouse;

import io.tallyhouse.schemas.contract.Money;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.Arrays;

/**
 * Rows in ClickHouse's TabSeparated input format, the one audited place where values become insert
 * data (as {@link SqlLiteral} is for SQL text).
 *
 * <p>In TabSeparated a tab ends a value, a newline ends the row and a backslash starts an escape
 * sequence; {@link #string} escapes exactly those three, plus carriage return (which 18.16 rejects
 * at a row's end), NUL, backspace and form feed, with the sequences ClickHouse itself prints.
 * Nothing else a value holds can end it early. {@code \N} is NULL, and a value {@code \N} is
 * written {@code \\N}, so the two never meet.
 *
 * <p>The rows are built straight into one growing byte array, UTF-8 encoded here: the stream writes
 * a row per event, and a JSON generator per row cost more CPU than everything else the writer did.
 */
public final class TabSeparated {

  private byte[] bytes;
  private int size;
  private boolean rowStarted;

  public TabSeparated(int initialCapacity) {
    bytes = new byte[Math.max(16, initialCapacity)];
  }

  /**
   * A string value, escaped and UTF-8 encoded; an unpaired surrogate becomes '?', as
   * String.getBytes does.
   */
  public TabSeparated string(CharSequence value) {
    return string(value, 0, value.length());
  }

  /** The characters {@code [from, to)} of {@code value} as one string value. */
  public TabSeparated string(CharSequence value, int from, int to) {
    separate();
    ensure((to - from) * 3);
    for (int i = from; i < to; i++) {
      char c = value.charAt(i);
      if (c < 0x80) {
        ascii(c);
      } else if (c < 0x800) {
        bytes[size++] = (byte) (0xC0 | c >> 6);
        bytes[size++] = (byte) (0x80 | c & 0x3F);
      } else if (Character.isHighSurrogate(c)
          && i + 1 < to
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, value.charAt(++i));
        bytes[size++] = (byte) (0xF0 | cp >> 18);
        bytes[size++] = (byte) (0x80 | cp >> 12 & 0x3F);
        bytes[size++] = (byte) (0x80 | cp >> 6 & 0x3F);
        bytes[size++] = (byte) (0x80 | cp & 0x3F);
      } else if (Character.isSurrogate(c)) {
        bytes[size++] = '?';
      } else {
        bytes[size++] = (byte) (0xE0 | c >> 12);
        bytes[size++] = (byte) (0x80 | c >> 6 & 0x3F);
        bytes[size++] = (byte) (0x80 | c & 0x3F);
      }
    }
    return this;
  }

  /**
   * The bytes {@code [from, to)} of {@code utf8}, UTF-8 text, as one string value: escaped byte by
   * byte, which is exact because no byte of a multi-byte UTF-8 sequence is below 0x80. For text
   * that arrives as bytes (Kafka keys), so it is not decoded only to be encoded again.
   */
  public TabSeparated utf8(byte[] utf8, int from, int to) {
    separate();
    ensure((to - from) * 2);
    for (int i = from; i < to; i++) {
      byte b = utf8[i];
      if (b >= 0) {
        ascii((char) b);
      } else {
        bytes[size++] = b;
      }
    }
    return this;
  }

  /**
   * The bytes {@code [from, to)} of {@code utf8}, UTF-8 text of values joined by {@code separator},
   * as consecutive values: each separator ends a value, and every value is escaped as {@link #utf8}
   * escapes it, in one pass over the bytes. {@code ends} receives where each value ends in {@code
   * utf8} (exclusive; the next starts one byte later). For text that arrives as bytes holding
   * several fields (Kafka keys).
   *
   * @param separator an ASCII byte that no value holds (a byte of a multi-byte character is
   *     refused: it could not be told apart)
   * @return the number of values, at least one
   * @throws IllegalArgumentException when the text holds more values than {@code ends} can take;
   *     the values before the one too many are written by then
   */
  public int utf8Values(byte[] utf8, int from, int to, byte separator, int[] ends) {
    if (separator < 0) {
      throw new IllegalArgumentException("not a separator: " + separator);
    }
    separate();
    ensure((to - from) * 2);
    int values = 0;
    for (int i = from; i < to; i++) {
      byte b = utf8[i];
      if (b == separator) {
        if (values == ends.length - 1) {
          throw new IllegalArgumentException("more than " + ends.length + " values");
        }
        ends[values++] = i;
        // ensure() reserved two bytes per input byte: the separator's tab fits in its own share.
        bytes[size++] = '\t';
      } else if (b >= ' ' && b != '\\' || b < 0) {
        // Every character ascii() escapes is a control character or the backslash.
        bytes[size++] = b;
      } else {
        ascii((char) b);
      }
    }
    ends[values++] = to;
    return values;
  }

  /**
   * Writes one ASCII character, escaped if the format requires it; capacity for two bytes is
   * reserved.
   */
  private void ascii(char c) {
    switch (c) {
      case '\\' -> escaped('\\');
      case '\t' -> escaped('t');
      case '\n' -> escaped('n');
      case '\r' -> escaped('r');
      case '\0' -> escaped('0');
      case '\b' -> escaped('b');
      case '\f' -> escaped('f');
      default -> bytes[size++] = (byte) c;
    }
  }

  /** A Nullable(String) value: {@code \N} for null. */
  public TabSeparated nullableString(String value) {
    if (value != null) {
      return string(value);
    }
    separate();
    ensure(2);
    bytes[size++] = '\\';
    bytes[size++] = 'N';
    return this;
  }

  /** An integer value. */
  public TabSeparated number(long value) {
    separate();
    if (value < 0) {
      // Long.MIN_VALUE has no positive counterpart; negatives are rare here, so the library renders
      // them.
      plain(Long.toString(value));
      return this;
    }
    int digits = 1;
    for (long rest = value / 10; rest > 0; rest /= 10) {
      digits++;
    }
    ensure(digits);
    for (int i = size + digits - 1; i >= size; i--) {
      bytes[i] = (byte) ('0' + value % 10);
      value /= 10;
    }
    size += digits;
    return this;
  }

  /**
   * A Decimal(38,12) value with all its digits, never in exponent form. Refuses what the column
   * cannot hold (more than 12 fractional digits, 10^26 or more either side of zero) rather than
   * leave it to the server's reading of it.
   */
  public TabSeparated decimal(BigDecimal value) {
    BigDecimal fitted = value.scale() > Money.SCALE ? value.stripTrailingZeros() : value;
    if (fitted.scale() > Money.SCALE
        || fitted.precision() - fitted.scale() > Money.MAX_INTEGER_DIGITS) {
      throw new IllegalArgumentException("not a Decimal(38,12) value: " + value.toPlainString());
    }
    separate();
    plain(fitted.toPlainString());
    return this;
  }

  /**
   * The Decimal(38,12) value {@code unscaled} * 10^-12, written exactly as {@link #decimal} writes
   * it (every one of the twelve fractional digits) without building a BigDecimal: the stream's
   * writer renders two amounts per row this way.
   */
  public TabSeparated decimalOfUnscaled(long unscaled) {
    if (unscaled < 0) {
      // Long.MIN_VALUE has no positive counterpart; no stored amount is negative.
      return decimal(BigDecimal.valueOf(unscaled, Money.SCALE));
    }
    separate();
    int digits = 1;
    for (long rest = unscaled / 10; rest > 0; rest /= 10) {
      digits++;
    }
    int width = Math.max(digits, Money.SCALE + 1) + 1;
    ensure(width);
    int point = size + width - 1 - Money.SCALE;
    for (int i = size + width - 1; i >= size; i--) {
      if (i == point) {
        bytes[i] = '.';
      } else {
        bytes[i] = (byte) ('0' + unscaled % 10);
        unscaled /= 10;
      }
    }
    size += width;
    return this;
  }

  /**
   * A Date value, {@code YYYY-MM-DD}; the year must have four digits, as ClickHouse's Date range
   * ensures.
   */
  public TabSeparated date(LocalDate day) {
    separate();
    ensure(10);
    dateDigits(day);
    return this;
  }

  /**
   * A DateTime value in UTC, {@code YYYY-MM-DD hh:mm:ss}, of the whole seconds of {@code
   * epochSecond}. Written digit by digit: this runs twice per event on the stream thread, and a
   * zoned formatter built the zone's rules each time.
   */
  public TabSeparated dateTime(long epochSecond) {
    separate();
    ensure(19);
    long day = Math.floorDiv(epochSecond, 86_400);
    int secondOfDay = (int) Math.floorMod(epochSecond, 86_400);
    dateDigits(LocalDate.ofEpochDay(day));
    bytes[size++] = ' ';
    digits(secondOfDay / 3600, 2);
    bytes[size++] = ':';
    digits(secondOfDay / 60 % 60, 2);
    bytes[size++] = ':';
    digits(secondOfDay % 60, 2);
    return this;
  }

  private void dateDigits(LocalDate day) {
    if (day.getYear() < 0 || day.getYear() > 9999) {
      throw new IllegalArgumentException("no ClickHouse date: " + day);
    }
    digits(day.getYear(), 4);
    bytes[size++] = '-';
    digits(day.getMonthValue(), 2);
    bytes[size++] = '-';
    digits(day.getDayOfMonth(), 2);
  }

  /**
   * {@code value} in exactly {@code width} digits, zero-padded; capacity reserved by the caller.
   */
  private void digits(int value, int width) {
    for (int i = size + width - 1; i >= size; i--) {
      bytes[i] = (byte) ('0' + value % 10);
      value /= 10;
    }
    size += width;
  }

  /** Ends the current row. */
  public TabSeparated endRow() {
    ensure(1);
    bytes[size++] = '\n';
    rowStarted = false;
    return this;
  }

  /** Appends rows built elsewhere (whole rows, each ending in a newline). */
  public TabSeparated rows(byte[] rows) {
    if (rowStarted) {
      throw new IllegalStateException("a row is open");
    }
    ensure(rows.length);
    System.arraycopy(rows, 0, bytes, size, rows.length);
    size += rows.length;
    return this;
  }

  public int size() {
    return size;
  }

  /**
   * Forgets every row and keeps the buffer, so a writer can build batch after batch without
   * reallocating.
   */
  public TabSeparated clear() {
    size = 0;
    rowStarted = false;
    return this;
  }

  /** The rows, read straight from the buffer (no copy); valid until the next change. */
  public InputStream inputStream() {
    if (rowStarted) {
      throw new IllegalStateException("a row is open");
    }
    return new ByteArrayInputStream(bytes, 0, size);
  }

  public byte[] toByteArray() {
    if (rowStarted) {
      throw new IllegalStateException("a row is open");
    }
    return Arrays.copyOf(bytes, size);
  }

  /** Text known to need no escaping (digits, signs, points). */
  private void plain(String text) {
    ensure(text.length());
    for (int i = 0; i < text.length(); i++) {
      bytes[size++] = (byte) text.charAt(i);
    }
  }

  private void escaped(char c) {
    // ensure() reserved at least two bytes per character, an escape's length.
    bytes[size++] = '\\';
    bytes[size++] = (byte) c;
  }

  private void separate() {
    if (rowStarted) {
      ensure(1);
      bytes[size++] = '\t';
    }
    rowStarted = true;
  }

  private void ensure(int more) {
    if (size + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
    }
  }
}
