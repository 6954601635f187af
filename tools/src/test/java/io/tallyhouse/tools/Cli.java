package io.tallyhouse.tools;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

/**
 * Runs {@code tallyhouse} in this JVM through picocli's {@code execute}, capturing stdout and
 * stderr.
 */
public final class Cli {

  /** Today for the tools under test: 2026-11-24 (UTC). */
  public static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-24T10:00:00Z"), ZoneOffset.UTC);

  /** What one run printed and returned. */
  public record Run(int code, String out, String err) {

    /** Everything printed, for assertion messages. */
    @Override
    public String toString() {
      return "exit code " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private Cli() {}

  public static Run run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        TallyhouseCli.commandLine(
                env,
                CLOCK,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8))
            .execute(args);
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  public static Run run(String... args) {
    return run(Map.of(), args);
  }
}
