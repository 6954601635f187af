package io.tallyhouse.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds what the testkit module's build unpacked or copied under {@code testkit/target}. */
final class BuildOutput {

  private BuildOutput() {}

  /**
   * The folder the system property {@code property} names, else {@code relative} (e.g. {@code
   * testkit/target/apicurio}) under the working directory or the nearest parent that has it.
   */
  static Path find(String property, String relative) {
    String configured = System.getProperty(property);
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path candidate = dir.resolve(relative);
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
      dir = dir.getParent();
    }
    return Path.of(relative).toAbsolutePath();
  }
}
