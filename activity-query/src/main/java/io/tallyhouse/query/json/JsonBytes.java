package io.tallyhouse.query.json;

import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growing array of UTF-8 bytes that activity answers are written into: the cache's days append
 * their memoized bytes and write fresh items straight into it (numbers as digits), so an answer is
 * never a String that has to be encoded again, and the response is one buffer.
 */
public final class JsonBytes {

  /** 10^{@link Money#SCALE}: an unscaled amount divided by it is the whole dollars. */
  private static final long SCALE_FACTOR = BigInteger.TEN.pow(Money.SCALE).longValueExact();

  private byte[] bytes;
  private int length;

  public JsonBytes() {
    this(1024);
  }

  public JsonBytes(int capacity) {
    bytes = new byte[Math.max(16, capacity)];
  }

  /**
   * Starts over, keeping the array: an event loop reuses one for every answer it copies out before
   * the next.
   */
  public JsonBytes clear() {
    length = 0;
    return this;
  }

  public int capacity() {
    return bytes.length;
  }

  public int length() {
    return length;
  }

  /** The bytes written; the array may be longer than {@link #length()}. */
  public byte[] array() {
    return bytes;
  }

  /** A copy of the bytes written, exactly {@link #length()} long. */
  public byte[] toByteArray() {
    return Arrays.copyOf(bytes, length);
  }

  public JsonBytes append(byte[] value) {
    ensure(value.length);
    System.arraycopy(value, 0, bytes, length, value.length);
    length += value.length;
    return this;
  }

  /** {@code value} as UTF-8 (a lone surrogate becomes '?', as {@link String#getBytes} does). */
  public JsonBytes appendUtf8(String value) {
    return append(value.getBytes(StandardCharsets.UTF_8));
  }

  public JsonBytes append(char ascii) {
    ensure(1);
    bytes[length++] = (byte) ascii;
    return this;
  }

  /** A non-negative long as decimal digits. */
  private void appendDigits(long value) {
    int digits = 1;
    for (long rest = value / 10; rest != 0; rest /= 10) {
      digits++;
    }
    ensure(digits);
    for (int i = length + digits - 1; i >= length; i--) {
      bytes[i] = (byte) ('0' + value % 10);
      value /= 10;
    }
    length += digits;
  }

  /** A UInt64 held in the bits of a long, as ClickHouse prints it. */
  public JsonBytes appendUnsigned(long bits) {
    if (bits >= 0) {
      appendDigits(bits);
      return this;
    }
    return appendAscii(Long.toUnsignedString(bits));
  }

  /**
   * An exact amount at scale 12 given as its unscaled long, written as {@link JsonText#plain} and
   * {@link BigDecimal#toPlainString} write it: no trailing zeros, no exponent, "0" for zero.
   */
  public JsonBytes appendMoney(long unscaled) {
    if (unscaled == Long.MIN_VALUE) {
      return appendMoney(Money.ofUnscaled(unscaled)); // has no positive long
    }
    if (unscaled < 0) {
      append('-');
      unscaled = -unscaled;
    }
    appendDigits(unscaled / SCALE_FACTOR);
    long fraction = unscaled % SCALE_FACTOR;
    if (fraction != 0) {
      int digits = Money.SCALE;
      while (fraction % 10 == 0) {
        fraction /= 10;
        digits--;
      }
      ensure(1 + digits);
      bytes[length++] = '.';
      for (int i = length + digits - 1; i >= length; i--) {
        bytes[i] = (byte) ('0' + fraction % 10);
        fraction /= 10;
      }
      length += digits;
    }
    return this;
  }

  /**
   * An amount of any size, written as {@link JsonText#plain} and {@link BigDecimal#toPlainString}
   * write it.
   */
  public JsonBytes appendMoney(BigDecimal value) {
    return appendAscii(JsonText.plain(value).toPlainString());
  }

  private JsonBytes appendAscii(String ascii) {
    int n = ascii.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      bytes[length + i] = (byte) ascii.charAt(i);
    }
    length += n;
    return this;
  }

  private void ensure(int more) {
    if (length + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
    }
  }

  /** The text written (for tests and logs). */
  @Override
  public String toString() {
    return new String(bytes, 0, length, StandardCharsets.UTF_8);
  }
}
