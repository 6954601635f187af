package io.tallyhouse.common.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Reads a service's settings from its environment and describes them as it goes.
 *
 * <p>Every read records the variable, its default and its meaning ({@link #described()}), which is
 * what the generated configuration reference is made of, so the reference cannot list a variable
 * the code does not read or miss one it does. A value that breaks its rule does not stop the
 * reading: the problem is noted (variable, value, rule), the default stands in, and {@link
 * #validate} throws one {@link ConfigException} listing every problem, so an operator fixes them
 * all in one go instead of one per restart.
 */
public final class Settings {

  private final Map<String, String> env;
  private final Map<String, Setting> described = new LinkedHashMap<>();
  private final List<String> problems = new ArrayList<>();

  private Settings(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  public static Settings of(Map<String, String> env) {
    return new Settings(env);
  }

  /**
   * One variable a service reads: its name, its default as the reference shows it (empty when none)
   * and meaning.
   */
  public record Setting(String name, String defaultText, String meaning) {}

  /** Every variable read so far, in reading order. */
  public List<Setting> described() {
    return List.copyOf(described.values());
  }

  /** The problems noted so far, each as {@code NAME=value: rule}. */
  public List<String> problems() {
    return Collections.unmodifiableList(problems);
  }

  /**
   * {@code config} when no problem was noted; otherwise a ConfigException listing every problem.
   */
  public <T> T validate(T config) {
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return config;
  }

  /** Notes that {@code name}'s value breaks {@code rule} (for rules spanning several variables). */
  public void problem(String name, String rule) {
    String value = env.get(name);
    problems.add(name + (value == null ? " (unset)" : "=" + value) + ": " + rule);
  }

  /**
   * A variable no longer read: setting it is a problem, as silently ignoring it would run with
   * another meaning.
   */
  public void retired(String name, String instead) {
    if (env.containsKey(name)) {
      problem(name, "no longer read; " + instead);
    }
  }

  /** A text variable. */
  public Text text(String name, String meaning) {
    return new Text(name, meaning);
  }

  /** A whole-number variable, by default at least 1. */
  public Number number(String name, String meaning) {
    return new Number(name, meaning);
  }

  /** A TCP port to listen on; 0 picks a free one. */
  public int port(String name, int defaultPort, String meaning) {
    return number(name, meaning).atLeast(0).atMost(65_535).intOrElse(defaultPort);
  }

  /**
   * Every variable named {@code prefix + SUFFIX}, as {@code suffix.in.lower.case -> value}
   * (KAFKA_PRODUCER_LINGER_MS is linger.ms); {@code problemOfKey} says why a key may not be set, or
   * null when it may.
   */
  public Map<String, String> prefixed(
      String prefix, String meaning, Function<String, String> problemOfKey) {
    described.put(prefix + "*", new Setting(prefix + "*", "", meaning));
    Map<String, String> values = new TreeMap<>();
    env.forEach(
        (name, value) -> {
          if (name.startsWith(prefix) && name.length() > prefix.length()) {
            String key = name.substring(prefix.length()).toLowerCase(Locale.ROOT).replace('_', '.');
            String problem = problemOfKey.apply(key);
            if (problem != null) {
              problem(name, problem);
            } else {
              values.put(key, value);
            }
          }
        });
    return Map.copyOf(values);
  }

  private String read(String name, String defaultText, String meaning) {
    described.put(name, new Setting(name, defaultText, meaning));
    return env.get(name);
  }

  /** The reading of one text variable. */
  public final class Text {
    private final String name;
    private final String meaning;
    private Set<String> choices;

    private Text(String name, String meaning) {
      this.name = name;
      this.meaning = meaning;
    }

    /** Only one of {@code allowed} may be set. */
    public Text oneOf(Set<String> allowed) {
      this.choices = allowed;
      return this;
    }

    /** The value, or {@code defaultValue} when unset; a blank value is a problem. */
    public String orElse(String defaultValue) {
      return orElse(defaultValue, defaultValue);
    }

    /** As {@link #orElse(String)}, the reference showing {@code defaultText} as the default. */
    public String orElse(String defaultValue, String defaultText) {
      String value = read(name, defaultText, meaning);
      if (value == null) {
        return defaultValue;
      }
      if (value.isBlank()) {
        problem(name, "must not be empty (unset it for the default: " + defaultText + ")");
        return defaultValue;
      }
      if (choices != null && !choices.contains(value)) {
        problem(name, "must be one of " + new java.util.TreeSet<>(choices));
        return defaultValue;
      }
      return value;
    }

    /** The value, or null when unset (the reference shows no default). */
    public String orNull() {
      return read(name, "", meaning);
    }

    /** The value, which must be set and not blank. */
    public String required() {
      String value = read(name, "(required)", meaning);
      if (value == null || value.isBlank()) {
        problem(name, "must be set");
      }
      return value;
    }

    /**
     * A file that must exist and be readable now (a certificate, a truststore), or null when unset.
     */
    public Path readableFileOrNull() {
      String value = orNull();
      if (value == null) {
        return null;
      }
      Path path = Path.of(value.strip());
      if (value.isBlank() || !java.nio.file.Files.isReadable(path)) {
        problem(name, "must be a readable file (unset it for none)");
        return null;
      }
      return path;
    }

    /** A file path, or {@code defaultPath} when unset. */
    public Path pathOrElse(String defaultPath) {
      return Path.of(orElse(defaultPath));
    }
  }

  /** The reading of one whole-number variable. */
  public final class Number {
    private final String name;
    private final String meaning;
    private long min = 1;
    private long max = Long.MAX_VALUE;

    private Number(String name, String meaning) {
      this.name = name;
      this.meaning = meaning;
    }

    public Number atLeast(long min) {
      this.min = min;
      return this;
    }

    public Number atMost(long max) {
      this.max = max;
      return this;
    }

    /** The value, or {@code defaultValue} when unset or broken. */
    public long orElse(long defaultValue) {
      return orElse(defaultValue, Long.toString(defaultValue));
    }

    /**
     * As {@link #orElse(long)}, the reference showing {@code defaultText} (for defaults computed at
     * start).
     */
    public long orElse(long defaultValue, String defaultText) {
      Long value = parse(read(name, defaultText, meaning));
      return value == null ? defaultValue : value;
    }

    public int intOrElse(int defaultValue) {
      return intOrElse(defaultValue, Integer.toString(defaultValue));
    }

    public int intOrElse(int defaultValue, String defaultText) {
      max = Math.min(max, Integer.MAX_VALUE);
      return (int) orElse(defaultValue, defaultText);
    }

    /**
     * The value, or empty when unset or broken: for defaults that depend on what the service finds
     * at start (the reference shows {@code defaultText}).
     */
    public OptionalInt intIfSet(String defaultText) {
      max = Math.min(max, Integer.MAX_VALUE);
      Long value = parse(read(name, defaultText, meaning));
      return value == null ? OptionalInt.empty() : OptionalInt.of(value.intValue());
    }

    /** The value in milliseconds; the variable's name says the unit ({@code _MS}). */
    public Duration millisOrElse(Duration defaultValue) {
      return Duration.ofMillis(orElse(defaultValue.toMillis()));
    }

    /** The value in days; the variable's name says the unit ({@code _DAYS}). */
    public Duration daysOrElse(Duration defaultValue) {
      return Duration.ofDays(orElse(defaultValue.toDays()));
    }

    /** The number in {@code text}, or null when unset or broken (recording the problem). */
    private Long parse(String text) {
      if (text == null) {
        return null;
      }
      long value;
      try {
        value = Long.parseLong(text.trim());
      } catch (NumberFormatException e) {
        problem(name, "must be a whole number");
        return null;
      }
      if (value < min || value > max) {
        problem(name, "must be " + range());
        return null;
      }
      return value;
    }

    private String range() {
      return max == Long.MAX_VALUE ? "at least " + min : "from " + min + " to " + max;
    }
  }
}
