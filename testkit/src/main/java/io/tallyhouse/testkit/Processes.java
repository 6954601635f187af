package io.tallyhouse.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Child-process chores shared by the local servers: readiness polling, stopping, log tails,
 * cleanup.
 */
final class Processes {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private Processes() {}

  /**
   * The executable {@code name}: the path in the environment variable {@code override} when set,
   * else the first on the PATH (or in /usr/bin, /usr/local/bin); fails naming {@code hint} (the
   * fix) when there is none.
   */
  static Path executable(String name, String override, String hint) {
    String configured = System.getenv(override);
    if (configured != null && !configured.isBlank()) {
      Path path = Path.of(configured);
      if (!Files.isExecutable(path)) {
        throw new IllegalStateException(
            override + "=" + configured + " is not an executable. " + hint);
      }
      return path;
    }
    String pathVariable = System.getenv().getOrDefault("PATH", "");
    for (String folder : (pathVariable + ":/usr/bin:/usr/local/bin").split(":")) {
      if (folder.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(folder, name);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("No " + name + " binary found on PATH. " + hint);
  }

  /**
   * Polls {@code url} until its body satisfies {@code ready}; fails with the log tail if the
   * process dies or time runs out.
   */
  static void awaitHttp(
      String what,
      Process process,
      String url,
      Predicate<String> ready,
      Duration timeout,
      Path log) {
    awaitHttp(what, process, url, ready, timeout, log, HTTP);
  }

  /** As above, through {@code http} (e.g. one that trusts a test certificate). */
  static void awaitHttp(
      String what,
      Process process,
      String url,
      Predicate<String> ready,
      Duration timeout,
      Path log,
      HttpClient http) {
    awaitReady(what, process, () -> answers(what, url, ready, http), timeout, log);
  }

  /**
   * Polls {@code ready} until it holds; fails with the log tail (and stops the process) if the
   * process dies or time runs out.
   */
  static void awaitReady(
      String what, Process process, BooleanSupplier ready, Duration timeout, Path log) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            what
                + " exited with code "
                + process.exitValue()
                + " before it was ready. Log:\n"
                + tail(log));
      }
      if (ready.getAsBoolean()) {
        return;
      }
      sleep(100);
    }
    stop(process, Duration.ofSeconds(5));
    throw new IllegalStateException(
        what + " was not ready within " + timeout + ". Log:\n" + tail(log));
  }

  private static boolean answers(
      String what, String url, Predicate<String> ready, HttpClient http) {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 && ready.test(response.body());
    } catch (IOException e) {
      return false; // not listening yet
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + what, e);
    }
  }

  /**
   * Prints to the test JVM's stderr, with the tail of {@code log}, when {@code process} exits
   * without {@code stopping} having been asked for it: a server that crashes in the middle of a
   * test otherwise shows only as a refused connection, and its log goes with the test's temporary
   * directory.
   */
  static void reportUnexpectedExit(
      String what, Process process, Predicate<Process> stopping, Path log) {
    process
        .onExit()
        .thenAccept(
            exited -> {
              if (!stopping.test(exited)) {
                System.err.println(
                    what
                        + " (pid "
                        + exited.pid()
                        + ") exited unexpectedly with code "
                        + exited.exitValue()
                        + ". Log:\n"
                        + tail(log));
              }
            });
  }

  /** SIGTERM, then SIGKILL after {@code grace}; children too. */
  static void stop(Process process, Duration grace) {
    if (process == null) {
      return;
    }
    List<ProcessHandle> children = process.descendants().toList();
    process.destroy();
    children.forEach(ProcessHandle::destroy);
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        children.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /** SIGKILL, children too, and waits until the process is gone. */
  static void kill(Process process) {
    if (process == null) {
      return;
    }
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    try {
      process.destroyForcibly().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing a process", e);
    }
  }

  static String tail(Path log) {
    try {
      if (log == null || !Files.exists(log)) {
        return "(no log)";
      }
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: temp files of a test run
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
