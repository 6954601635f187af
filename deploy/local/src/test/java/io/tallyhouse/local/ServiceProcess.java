package io.tallyhouse.local;

import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One instance of a service as a child JVM on the test JVM's class path, so that SIGKILL is real:
 * its own HTTP port (the same across restarts), state directory and log file (appended to across
 * restarts, with a line where the test killed it).
 */
final class ServiceProcess {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** How long an instance may take to become ready on a busy two-core machine. */
  private static final Duration READY = Duration.ofMinutes(5);

  private final String name;
  private final Class<?> main;
  private final Map<String, String> env;
  private final int port;
  private final Path log;
  private Process process;

  /**
   * The instance {@code name} of the service whose main class is {@code main}, with {@code env}
   * (its {@code HTTP_PORT} and {@code STATE_DIR} are its own), living in {@code home}.
   */
  ServiceProcess(String name, Class<?> main, Map<String, String> env, Path home) {
    this.name = name;
    this.main = main;
    this.port = Ports.freePort();
    this.env = new HashMap<>(env);
    this.env.put("HTTP_PORT", String.valueOf(port));
    this.env.put("STATE_DIR", home.resolve(name + "-state").toString());
    this.log = home.resolve(name + ".log");
  }

  String name() {
    return name;
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  synchronized void start() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is already running");
    }
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // Small and cheap JVMs: a dozen of them share two cores with the servers.
                "-Xmx384m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                main.getName()));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(env);
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
  }

  /**
   * Waits until {@code /health/ready} answers 200; fails with its last answer and the log's end if
   * it dies first or time runs out.
   */
  void awaitReady() throws InterruptedException {
    try {
      Await.until(
          name + " ready",
          () -> {
            assertAlive();
            return answers("/health/ready");
          },
          READY);
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage()
              + "; /health/live: "
              + body("/health/live")
              + ". End of its log:\n"
              + tail(80),
          e);
    }
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed or committed. */
  synchronized void kill() throws InterruptedException {
    process.destroyForcibly().waitFor();
    note("killed with SIGKILL by the test");
  }

  /** SIGTERM, as an orchestrator stops it; SIGKILL if it has not exited after {@code grace}. */
  synchronized void stop(Duration grace) throws InterruptedException {
    if (process == null || !process.isAlive()) {
      return;
    }
    process.destroy();
    if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor();
      note("did not stop within " + grace.toSeconds() + " s of SIGTERM: killed");
    }
  }

  /** Sends SIGTERM without waiting, so that many instances stop at once. */
  synchronized void requestStop() {
    if (process != null) {
      process.destroy();
    }
  }

  synchronized boolean alive() {
    return process != null && process.isAlive();
  }

  /** Fails, with the end of its log, when the instance is not running. */
  void assertAlive() {
    if (!alive()) {
      throw new AssertionError(name + " is not running. End of its log:\n" + tail(60));
    }
  }

  /** The last {@code lines} lines of the instance's log, stack frames left out. */
  String tail(int lines) {
    try {
      if (!Files.exists(log)) {
        return "(no log)";
      }
      List<String> all =
          Files.readAllLines(log, StandardCharsets.UTF_8).stream()
              .filter(l -> !l.startsWith("\tat "))
              .toList();
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }

  private boolean answers(String path) {
    try {
      return HTTP.send(
                  HttpRequest.newBuilder(URI.create(url() + path))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.discarding())
              .statusCode()
          == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * The value of the unlabelled metric {@code name} on the instance's {@code /metrics}, or -1 while
   * the instance does not answer or does not report it.
   */
  double metric(String name) {
    String answer = body("/metrics");
    if (!answer.startsWith("200 ")) {
      return -1;
    }
    for (String line : answer.substring(4).split("\n")) {
      String[] parts = line.trim().split(" ");
      if (parts.length == 2 && parts[0].equals(name)) {
        return Double.parseDouble(parts[1]);
      }
    }
    return -1;
  }

  /** The status and body of {@code path}, or why there was none. */
  private String body(String path) {
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url() + path))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() + " " + response.body();
    } catch (IOException e) {
      return "no answer (" + e + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private void note(String line) {
    try {
      Files.writeString(
          log,
          "---- " + name + " " + line + " ----\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      // only a marker for whoever reads the log
    }
  }
}
