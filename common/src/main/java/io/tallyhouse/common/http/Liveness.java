package io.tallyhouse.common.http;

import java.util.Optional;

/**
 * What {@code /health/live} checks: a part of the process that cannot recover without a restart.
 */
@FunctionalInterface
public interface Liveness {

  /**
   * Why the process must be restarted, or empty while it can still do its work (however slowly).
   */
  Optional<String> problem();

  /** The first problem of {@code checks}, in order. */
  static Liveness all(Liveness... checks) {
    return () -> {
      for (Liveness check : checks) {
        Optional<String> problem = check.problem();
        if (problem.isPresent()) {
          return problem;
        }
      }
      return Optional.empty();
    };
  }
}
