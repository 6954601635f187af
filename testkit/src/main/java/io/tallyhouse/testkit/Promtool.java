package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Prometheus' own checker, {@code promtool} (Debian's {@code prometheus} package), run once. */
public final class Promtool {

  /** How a run ended: promtool's exit code and everything it printed. */
  public record Result(int exitCode, String output) {
    public boolean succeeded() {
      return exitCode == 0;
    }
  }

  private Promtool() {}

  /** Runs {@code promtool args...} in {@code workDir} and waits for it (at most two minutes). */
  public static Result run(Path workDir, String... args) {
    List<String> command = new ArrayList<>();
    command.add(PrometheusServer.binary("promtool", "PROMTOOL_BIN").toString());
    command.addAll(List.of(args));
    try {
      Process process =
          new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
      byte[] output = process.getInputStream().readAllBytes();
      if (!process.waitFor(2, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish in 2 minutes");
      }
      return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running promtool", e);
    }
  }
}
