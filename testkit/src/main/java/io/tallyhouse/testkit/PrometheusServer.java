package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real Prometheus server (Debian's {@code prometheus} package) as a child process with a
 * generated configuration: it scrapes the given jobs and evaluates the given rule files, both every
 * {@code interval}, keeping its data in {@code dir}. {@link #stop()} (also at JVM exit) ends it.
 */
public final class PrometheusServer implements AutoCloseable {

  /** The fix printed when a binary is missing; {@code make test} runs the script by itself. */
  static final String INSTALL_HINT =
      "Fix: as root run `apt-get update && apt-get install -y --no-install-recommends prometheus`"
          + " (scripts/ensure-prometheus.sh does this for `make test`), or set PROMETHEUS_BIN to a"
          + " prometheus binary (2.42 or later).";

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** A scrape job: its name (the {@code job} label) and its targets as {@code host:port}. */
  public record ScrapeJob(String name, List<String> targets) {}

  private final Path dir;
  private final int port;
  private final Path log;
  private Process process;

  /** The process {@link #stop()} is ending, so its exit is no crash. */
  private volatile Process ending;

  private PrometheusServer(Path dir, int port) {
    this.dir = dir;
    this.port = port;
    this.log = dir.resolve("prometheus.log");
  }

  /**
   * Starts Prometheus on a free local port, scraping {@code jobs} at {@code /metrics} and
   * evaluating {@code ruleFiles} every {@code interval}, and waits until it answers {@code
   * /-/ready}.
   */
  public static PrometheusServer start(
      Path dir, List<ScrapeJob> jobs, List<Path> ruleFiles, Duration interval) {
    TestLane.requireServersAllowed("Prometheus");
    PrometheusServer server = new PrometheusServer(dir.toAbsolutePath(), Ports.freePort());
    server.writeConfig(jobs, ruleFiles, interval);
    server.launch();
    Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "prometheus-stop"));
    return server;
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  /**
   * The body of {@code GET path} (for example {@code /api/v1/targets}); fails naming the status and
   * body when the answer is not 200.
   */
  public String get(String path) {
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url() + path))
                  .timeout(Duration.ofSeconds(30))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(
            "Prometheus answered "
                + response.statusCode()
                + " to "
                + path
                + ": "
                + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Prometheus at " + url() + " did not answer " + path + ". Log:\n" + logTail(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while asking Prometheus " + path, e);
    }
  }

  /** The JSON answer of the instant query {@code promql} ({@code /api/v1/query}). */
  public String query(String promql) {
    return get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
  }

  /** The end of the server's log, for a failure report. */
  public String logTail() {
    return Processes.tail(log);
  }

  public synchronized void stop() {
    ending = process;
    Processes.stop(process, Duration.ofSeconds(10));
    process = null;
  }

  @Override
  public void close() {
    stop();
  }

  private synchronized void launch() {
    try {
      Files.createDirectories(dir.resolve("data"));
      process =
          new ProcessBuilder(
                  Processes.executable("prometheus", "PROMETHEUS_BIN", INSTALL_HINT).toString(),
                  "--config.file=" + dir.resolve("prometheus.yml"),
                  "--storage.tsdb.path=" + dir.resolve("data"),
                  "--web.listen-address=127.0.0.1:" + port,
                  "--log.level=warn")
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start prometheus", e);
    }
    Processes.reportUnexpectedExit(
        "prometheus at " + url(), process, exited -> exited == ending, log);
    Processes.awaitHttp("prometheus", process, url() + "/-/ready", body -> true, Await.STALL, log);
  }

  private void writeConfig(List<ScrapeJob> jobs, List<Path> ruleFiles, Duration interval) {
    StringBuilder config = new StringBuilder();
    config
        .append("global:\n")
        .append("  scrape_interval: ")
        .append(interval.toMillis())
        .append("ms\n")
        .append("  scrape_timeout: ")
        .append(interval.toMillis())
        .append("ms\n")
        .append("  evaluation_interval: ")
        .append(interval.toMillis())
        .append("ms\n")
        .append("rule_files:\n");
    for (Path file : ruleFiles) {
      config.append("  - '").append(file.toAbsolutePath()).append("'\n");
    }
    config.append("scrape_configs:\n");
    for (ScrapeJob job : jobs) {
      config
          .append("  - job_name: '")
          .append(job.name())
          .append("'\n    static_configs:\n      - targets: [");
      config.append(String.join(", ", job.targets().stream().map(t -> "'" + t + "'").toList()));
      config.append("]\n");
    }
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("prometheus.yml"), config, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the Prometheus configuration in " + dir, e);
    }
  }
}
