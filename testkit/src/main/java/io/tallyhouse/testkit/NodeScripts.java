package io.tallyhouse.testkit;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the scripts of {@code clients/} (real third-party Node.js clients: OpenRouter's SDK, kafkajs
 * with the Confluent schema registry client) with Node.js, on the packages {@code make deps}
 * installed there from {@code clients/package-lock.json}. A missing node or install is a failure
 * that names the fix, never a skip.
 */
public final class NodeScripts {

  static final String INSTALL_HINT =
      "Fix: run `make deps` (scripts/ensure-node-clients.sh: npm ci in clients/ from its lock file;"
          + " needs Node.js 20 or later and npm).";

  /** How one run ended and what it printed. */
  public record Result(int exitCode, String stdout, String stderr) {

    /** The non-blank lines of stdout (the scripts print one JSON document a line). */
    public List<String> lines() {
      return stdout.lines().filter(line -> !line.isBlank()).toList();
    }

    /** Both streams, for a failure message. */
    public String describe() {
      return "exit code " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
    }
  }

  private NodeScripts() {}

  /**
   * The {@code clients/} folder with its packages installed: the system property {@code
   * tallyhouse.node.clients}, else {@code clients} in the working directory or its nearest parent
   * that has one. Fails naming {@code make deps} when the packages are missing or older than the
   * lock file.
   */
  public static Path home() {
    Path home = BuildOutput.find("tallyhouse.node.clients", "clients");
    Path lock = home.resolve("package-lock.json");
    if (!Files.isRegularFile(lock)) {
      throw new IllegalStateException(
          "No Node.js clients at " + home + " (no package-lock.json). " + INSTALL_HINT);
    }
    // npm writes this file last on every install: its absence means no (complete) install.
    Path installed = home.resolve("node_modules/.package-lock.json");
    try {
      if (!Files.isRegularFile(installed)) {
        throw new IllegalStateException(
            "The Node.js clients are not installed ("
                + installed
                + " is missing). "
                + INSTALL_HINT);
      }
      if (Files.getLastModifiedTime(installed).compareTo(Files.getLastModifiedTime(lock)) < 0) {
        throw new IllegalStateException(
            "The Node.js clients in "
                + home.resolve("node_modules")
                + " are older than package-lock.json. "
                + INSTALL_HINT);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + installed, e);
    }
    return home;
  }

  /** The node binary: {@code NODE_BIN}, else the PATH; fails saying how to install it. */
  public static Path node() {
    return Processes.executable("node", "NODE_BIN", INSTALL_HINT);
  }

  /**
   * Runs {@code clients/<script>} with node, this process's environment plus {@code env}, in the
   * {@code clients/} folder. Waits at most {@code timeout}, then kills the script and fails with
   * what it printed so far.
   */
  public static Result run(String script, Map<String, String> env, Duration timeout) {
    Path home = home();
    Path file = home.resolve(script);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("No script " + file);
    }
    ProcessBuilder builder =
        new ProcessBuilder(node().toString(), file.toString()).directory(home.toFile());
    builder.environment().putAll(env);
    // No input: a script that reads stdin sees its end at once instead of waiting.
    builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start node " + file, e);
    }
    CompletableFuture<String> stdout = drain(process.getInputStream());
    CompletableFuture<String> stderr = drain(process.getErrorStream());
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        Processes.kill(process);
        throw new IllegalStateException(
            script
                + " did not end within "
                + timeout
                + "\nstdout:\n"
                + soFar(stdout)
                + "\nstderr:\n"
                + soFar(stderr));
      }
      return new Result(
          process.exitValue(), stdout.get(10, TimeUnit.SECONDS), stderr.get(10, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      Processes.kill(process);
      throw new IllegalStateException("interrupted while " + script + " ran", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("reading the output of " + script + " failed", e);
    }
  }

  /**
   * Reads {@code stream} to its end on a thread of its own: both streams must be read at once, or a
   * script filling one pipe blocks while the other is awaited (the common pool may have one
   * thread).
   */
  private static CompletableFuture<String> drain(InputStream stream) {
    CompletableFuture<String> text = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (stream) {
                text.complete(new String(stream.readAllBytes(), StandardCharsets.UTF_8));
              } catch (IOException e) {
                text.completeExceptionally(e);
              }
            },
            "node-script-output");
    reader.setDaemon(true);
    reader.start();
    return text;
  }

  private static String soFar(CompletableFuture<String> text) {
    return text.completeOnTimeout("(not readable)", 10, TimeUnit.SECONDS)
        .exceptionally(e -> "(" + e + ")")
        .join();
  }
}
