package io.tallyhouse.common.config;

import java.util.List;

/**
 * Settings a service cannot start with: every problem found, one per line, each naming variable,
 * value and rule.
 */
public final class ConfigException extends IllegalArgumentException {

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super("invalid configuration:\n  " + String.join("\n  ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
