package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Prometheus' {@code promtool} (Debian's {@code prometheus} package, which
 * scripts/ensure-prometheus.sh installs for {@code make test}): runs it and returns its exit code
 * and output, so a test can fail with promtool's own words.
 */
public final class Promtool {

  static final String INSTALL_HINT =
      "Fix: as root run `apt-get update && apt-get install -y --no-install-recommends prometheus`"
          + " (scripts/ensure-prometheus.sh does this for `make test`), or set PROMTOOL_BIN to a"
          + " promtool binary.";

  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  /** What one run printed (stdout and stderr together) and how it ended. */
  public record Result(int exitCode, String output) {

    /** Exit code 0 and nothing printed: promtool found nothing to say. */
    public boolean clean() {
      return exitCode == 0 && output.isBlank();
    }
  }

  private Promtool() {}

  /** The promtool binary: {@code PROMTOOL_BIN}, else the PATH; fails saying how to install it. */
  public static Path binary() {
    return Processes.executable("promtool", "PROMTOOL_BIN", INSTALL_HINT);
  }

  /**
   * {@code promtool check metrics} on {@code exposition} (Prometheus text format): lint problems
   * (missing help, counters without {@code _total}, unit suffixes) come back in the output with a
   * non-zero exit code.
   */
  public static Result checkMetrics(String exposition) {
    return run(exposition, "check", "metrics");
  }

  /** Runs {@code promtool args...} with {@code stdin} (may be empty) as its standard input. */
  public static Result run(String stdin, String... args) {
    List<String> command = new ArrayList<>();
    command.add(binary().toString());
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      CompletableFuture<byte[]> output =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return process.getInputStream().readAllBytes();
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
      try (OutputStream in = process.getOutputStream()) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(
            "promtool " + String.join(" ", args) + " did not end within " + TIMEOUT);
      }
      return new Result(
          process.exitValue(),
          new String(
              output.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while promtool ran", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("reading the output of promtool failed", e);
    }
  }
}
