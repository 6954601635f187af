package io.tallyhouse.common.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of this build and, when the build knew it, the git commit it was built from: what
 * {@code --version} prints on every service and on {@code tallyhouse}.
 *
 * <p>Read from a resource Maven fills in rather than from the jar's manifest, so that it is the
 * same whether the code runs from a jar of a distribution or from the build's class directories
 * (the tests, {@code make run}).
 */
public record BuildVersion(String version, String commit) {

  private static final String RESOURCE = "build.properties";

  public BuildVersion {
    if (version == null || version.isBlank()) {
      throw new IllegalArgumentException("a build version must not be blank");
    }
    commit = commit == null ? "" : commit.strip();
  }

  /** The version of the code running now. */
  public static BuildVersion current() {
    Properties properties = new Properties();
    try (InputStream in = BuildVersion.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            RESOURCE + " is missing next to " + BuildVersion.class.getName() + ": a broken build");
      }
      properties.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
    return new BuildVersion(
        properties.getProperty("version"), unfilled(properties.getProperty("commit", "")));
  }

  /**
   * What {@code --version} prints for the program {@code name}: {@code name 0.1.0 (commit
   * c0ffee1)}.
   */
  public String describe(String name) {
    return name + " " + version + (commit.isEmpty() ? "" : " (commit " + commit + ")");
  }

  /** A commit the build could not learn is left as its placeholder: it is unknown, not a commit. */
  private static String unfilled(String commit) {
    return commit.startsWith("${") ? "" : commit;
  }
}
