package io.tallyhouse.common.config;

import java.util.Map;

/**
 * Whole numbers from the services' environment. A value that is not a whole number, or is out of range, stops
 * start-up with the variable's name and the value (and the range, when out of it), instead of a bare
 * NumberFormatException or a service that starts with a nonsensical setting (a batch of 0 rows, a negative window).
 */
public final class EnvNumbers {

  private EnvNumbers() {}

  /** {@code name}'s value, or {@code defaultValue} when unset; throws IllegalArgumentException outside [min, max]. */
  public static long number(Map<String, String> env, String name, long defaultValue, long min, long max) {
    String text = env.get(name);
    if (text == null) {
      return defaultValue;
    }
    long value;
    try {
      value = Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a whole number, got: " + text);
    }
    if (value < min || value > max) {
      throw new IllegalArgumentException(name + " must be " + range(min, max) + ", got: " + value);
    }
    return value;
  }

  /** As {@link #number}, at least 1 and at most Integer.MAX_VALUE. */
  public static int positiveInt(Map<String, String> env, String name, int defaultValue) {
    return (int) number(env, name, defaultValue, 1, Integer.MAX_VALUE);
  }

  /** As {@link #number}, at least 1. */
  public static long positiveLong(Map<String, String> env, String name, long defaultValue) {
    return number(env, name, defaultValue, 1, Long.MAX_VALUE);
  }

  /** A TCP port to listen on; 0 picks a free one. */
  public static int port(Map<String, String> env, String name, int defaultValue) {
    return (int) number(env, name, defaultValue, 0, 65_535);
  }

  private static String range(long min, long max) {
    if (max == Long.MAX_VALUE) {
      return "at least " + min;
    }
    return "from " + min + " to " + max;
  }
}
