package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.apicurioHome;
import static io.tallyhouse.bench.BenchSupport.awaitReady;
import static io.tallyhouse.bench.BenchSupport.createTopic;
import static io.tallyhouse.bench.BenchSupport.event;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.testkit.ApicurioRegistry;
import io.tallyhouse.testkit.LocalKafka;
import io.tallyhouse.testkit.Ports;
import io.vertx.core.buffer.Buffer;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code make bench-ingest}: the raw Kafka producer ceiling (Kafka's own ProducerPerformance,
 * 200-byte records, acks=all) and then POST /v1/events with realistic events, arrays of 100 and
 * single events, on the same broker in the same run. The last line of output is one JSON object.
 *
 * <p>Settings (system properties): {@code bench.seconds} per measured phase (default 20), {@code
 * bench.warmup.seconds} per warm-up phase (10), {@code bench.partitions} (6), {@code
 * bench.single.concurrency} (128), {@code bench.batch.concurrency} (16), {@code
 * bench.producer.records} (4000000).
 */
public final class IngestBench {

  /**
   * A line of ProducerPerformance's output: every 5 s the window's records and rate; at the end the
   * whole run's, with percentiles ("50th").
   */
  private static final Pattern PERF_LINE =
      Pattern.compile("(\\d+) records sent, ([0-9.]+) records/sec[^\\n]*");

  private IngestBench() {}

  public static void main(String[] args) throws Exception {
    int seconds = Integer.getInteger("bench.seconds", 20);
    int warmupSeconds = Integer.getInteger("bench.warmup.seconds", 10);
    int partitions = Integer.getInteger("bench.partitions", 6);
    int singleConcurrency = Integer.getInteger("bench.single.concurrency", 128);
    int batchConcurrency = Integer.getInteger("bench.batch.concurrency", 16);
    int producerRecords = Integer.getInteger("bench.producer.records", 4_000_000);
    String loadBefore = BenchSupport.loadAverage();
    Path dir = Files.createTempDirectory("tallyhouse-bench-ingest-");
    log("working in " + dir);

    LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), Ports.freePort(), Ports.freePort());
    ApicurioRegistry registry = ApicurioRegistry.start(apicurioHome(), Ports.freePort());
    Process ingest = null;
    ObjectNode result = JSON.createObjectNode();
    try {
      createTopic(kafka, "perf", partitions);
      createTopic(kafka, "usage-events", partitions);

      log(
          "Kafka ProducerPerformance: "
              + producerRecords
              + " records of 200 bytes, acks=all, "
              + partitions
              + " partitions");
      ProducerRates producer = producerPerformance(kafka, dir, producerRecords, warmupSeconds);
      double producerRate = producer.wholeRun();
      log(
          String.format(
              "  %.0f records/s over its whole run (%.0f in its windows after the first %d s)",
              producerRate, producer.steady(), warmupSeconds));

      String token = BenchSupport.ingestToken(dir.resolve("keys.jsonl"));
      int port = Ports.freePort();
      Map<String, String> env = new HashMap<>();
      env.put("HTTP_PORT", String.valueOf(port));
      env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
      env.put("SCHEMA_REGISTRY_URL", registry.url());
      env.put("KEYS_FILE", dir.resolve("keys.jsonl").toString());
      env.put("EVENTS_PARTITIONS", String.valueOf(partitions));
      BenchSupport.putServiceSettings(env);
      ingest = ChildJvm.start("io.tallyhouse.ingest.IngestServer", env, dir.resolve("ingest.log"));
      awaitReady("gateway-ingest", port, ingest, dir.resolve("ingest.log"));

      Random random = new Random(1);
      List<Buffer> singles = new ArrayList<>();
      for (int i = 0; i < 20_000; i++) {
        singles.add(Buffer.buffer(event(random, "s-" + i).toString()));
      }
      List<Buffer> batches = new ArrayList<>();
      for (int b = 0; b < 400; b++) {
        StringBuilder body = new StringBuilder("[");
        for (int i = 0; i < 100; i++) {
          body.append(i == 0 ? "" : ",").append(event(random, "b-" + b + "-" + i));
        }
        batches.add(Buffer.buffer(body.append(']').toString()));
      }

      Phase single;
      Phase batch;
      ProcessHandle service = ingest.toHandle();
      try (HttpLoad load = new HttpLoad(port, token)) {
        log("warm-up");
        load.run(singles, 1, singleConcurrency, Duration.ofSeconds(warmupSeconds));
        load.run(batches, 100, batchConcurrency, Duration.ofSeconds(warmupSeconds));
        log("single events, " + singleConcurrency + " concurrent requests, " + seconds + " s");
        single =
            Phase.measure(
                load,
                service,
                port,
                singleConcurrency,
                () -> load.run(singles, 1, singleConcurrency, Duration.ofSeconds(seconds)));
        log("  " + single);
        log(
            "arrays of 100 events, "
                + batchConcurrency
                + " concurrent requests, "
                + seconds
                + " s");
        batch =
            Phase.measure(
                load,
                service,
                port,
                batchConcurrency,
                () -> load.run(batches, 100, batchConcurrency, Duration.ofSeconds(seconds)));
        log("  " + batch);
      }

      result.put("benchmark", "ingest");
      result.put("batch_events_per_s", Math.round(batch.load.eventsPerSecond()));
      result.put("single_events_per_s", Math.round(single.load.eventsPerSecond()));
      result.put("kafka_producer_events_per_s", Math.round(producerRate));
      if (Double.isNaN(producer.steady())) {
        result.putNull("kafka_producer_steady_events_per_s");
      } else {
        result.put("kafka_producer_steady_events_per_s", Math.round(producer.steady()));
      }
      result.put("ratio", ratio(batch.load.eventsPerSecond(), producerRate));
      result.put("single_ratio", ratio(single.load.eventsPerSecond(), producerRate));
      result.put("batch_p99_ms", round1(batch.load.p99Millis()));
      result.put("single_p99_ms", round1(single.load.p99Millis()));
      result.put("batch_p50_ms", round1(batch.load.p50Millis()));
      result.put("single_p50_ms", round1(single.load.p50Millis()));
      result.put("batch_errors", batch.load.errors());
      result.put("single_errors", single.load.errors());
      result.put("single_in_service_mean_ms", round1(single.inServiceMeanMillis));
      result.put("single_client_mean_ms", round1(single.clientMeanMillis()));
      result.put("batch_in_service_mean_ms", round1(batch.inServiceMeanMillis));
      result.put("batch_client_mean_ms", round1(batch.clientMeanMillis()));
      result.put("single_cpu_busy_pct", Math.round(single.busyPercent));
      result.set("single_cpu_us_per_event", single.cpuPerEvent());
      result.put("batch_cpu_busy_pct", Math.round(batch.busyPercent));
      result.set("batch_cpu_us_per_event", batch.cpuPerEvent());
      result.put("partitions", partitions);
      result.put("seconds", seconds);
      result.put("warmup_seconds", warmupSeconds);
      result.put("cores", Runtime.getRuntime().availableProcessors());
      result.put("load_average_before", loadBefore);
    } finally {
      if (ingest != null) {
        ingest.destroy();
        ingest.waitFor(30, TimeUnit.SECONDS);
      }
      registry.stop();
      kafka.stop();
      BenchSupport.removeWorkingDirectory(dir);
    }
    result.put("load_average_after", BenchSupport.loadAverage());
    BenchSupport.printResultAndExit(result);
  }

  private static BigDecimal ratio(double eventsPerSecond, double producerRate) {
    return BigDecimal.valueOf(eventsPerSecond / producerRate).setScale(3, RoundingMode.HALF_UP);
  }

  /**
   * One measured phase: what the load saw, and where the CPU went meanwhile (the service JVM, the
   * load generator's event loop, and the rest of this JVM, which is mostly the broker), so a reader
   * sees whether the service or the client is the limit.
   */
  private static final class Phase {
    final HttpLoad.Result load;
    final double busyPercent;
    final long serviceCpuNanos;
    final long loadGeneratorCpuNanos;
    final long benchJvmCpuNanos;
    final double inServiceMeanMillis;
    final int concurrency;

    private Phase(
        HttpLoad.Result load,
        double busyPercent,
        long serviceCpuNanos,
        long loadGeneratorCpuNanos,
        long benchJvmCpuNanos,
        double inServiceMeanMillis,
        int concurrency) {
      this.load = load;
      this.concurrency = concurrency;
      this.busyPercent = busyPercent;
      this.serviceCpuNanos = serviceCpuNanos;
      this.loadGeneratorCpuNanos = loadGeneratorCpuNanos;
      this.benchJvmCpuNanos = benchJvmCpuNanos;
      this.inServiceMeanMillis = inServiceMeanMillis;
    }

    @FunctionalInterface
    interface Run {
      HttpLoad.Result run() throws Exception;
    }

    static Phase measure(HttpLoad load, ProcessHandle service, int port, int concurrency, Run run)
        throws Exception {
      List<ProcessHandle> processes = List.of(service, ProcessHandle.current());
      double[] timedBefore = acceptedRequestTime(port);
      long[] cpuBefore = BenchSupport.cpuNanos(processes);
      long loadBefore = load.eventLoopCpuNanos();
      long[] ticksBefore = BenchSupport.machineCpuTicks();
      HttpLoad.Result result = run.run();
      double busy = BenchSupport.busyPercent(ticksBefore, BenchSupport.machineCpuTicks());
      long loadCpu = load.eventLoopCpuNanos() - loadBefore;
      long[] cpuAfter = BenchSupport.cpuNanos(processes);
      double[] timedAfter = acceptedRequestTime(port);
      double requests = timedAfter[1] - timedBefore[1];
      return new Phase(
          result,
          busy,
          cpuAfter[0] - cpuBefore[0],
          loadCpu,
          cpuAfter[1] - cpuBefore[1] - loadCpu,
          requests == 0 ? 0 : (timedAfter[0] - timedBefore[0]) * 1000 / requests,
          concurrency);
    }

    /**
     * Mean latency the client saw: in a closed loop, the requests in flight over the rate (Little's
     * law).
     */
    double clientMeanMillis() {
      return load.requests() == 0 ? 0 : concurrency * load.seconds() * 1000 / load.requests();
    }

    ObjectNode cpuPerEvent() {
      ObjectNode cpu = JSON.createObjectNode();
      cpu.put("ingest", perEvent(serviceCpuNanos));
      cpu.put("load_generator", perEvent(loadGeneratorCpuNanos));
      cpu.put("broker_and_bench", perEvent(benchJvmCpuNanos));
      return cpu;
    }

    private double perEvent(long nanos) {
      return load.events() == 0 ? 0 : Math.round(nanos / 1e3 / load.events() * 10) / 10.0;
    }

    @Override
    public String toString() {
      return String.format(
          "%.0f events/s, p50 %.1f ms, p99 %.1f ms, %d errors; in the service %.1f ms per 202;"
              + " machine %.0f %% busy; CPU us/event %s",
          load.eventsPerSecond(),
          load.p50Millis(),
          load.p99Millis(),
          load.errors(),
          inServiceMeanMillis,
          busyPercent,
          cpuPerEvent());
    }
  }

  /**
   * The service's own time for answered 202s so far: {sum of seconds, count}, from its {@code
   * http_server_requests_seconds} meter.
   */
  private static double[] acceptedRequestTime(int port) throws Exception {
    String metrics =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    double[] sumAndCount = new double[2];
    for (String line : metrics.split("\n")) {
      if (!line.contains("status=\"202\"") || !line.contains("route=\"/v1/events\"")) {
        continue;
      }
      double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      if (line.startsWith("http_server_requests_seconds_sum{")) {
        sumAndCount[0] += value;
      } else if (line.startsWith("http_server_requests_seconds_count{")) {
        sumAndCount[1] += value;
      }
    }
    return sumAndCount;
  }

  /**
   * ProducerPerformance's records/s over its whole run (the peer's figure), and in its 5 s windows
   * after the first {@code warmupSeconds} ({@code NaN} when it ran no window after them). The
   * windows are shown, not used: on this box they varied from 0.6 to 1.8 times the whole run
   * between runs, while the JIT made about 1 % of difference.
   */
  record ProducerRates(double steady, double wholeRun) {}

  private static ProducerRates producerPerformance(
      LocalKafka kafka, Path dir, int records, int warmupSeconds) throws Exception {
    Path log = dir.resolve("producer-performance.log");
    Process perf =
        ChildJvm.start(
            "org.apache.kafka.tools.ProducerPerformance",
            Map.of(),
            log,
            "--topic",
            "perf",
            "--num-records",
            String.valueOf(records),
            "--record-size",
            "200",
            "--throughput",
            "-1",
            "--producer-props",
            "bootstrap.servers=" + kafka.bootstrapServers(),
            "acks=all",
            "linger.ms=5",
            "batch.size=65536",
            "compression.type=lz4");
    if (!perf.waitFor(10, TimeUnit.MINUTES) || perf.exitValue() != 0) {
      throw new IllegalStateException("ProducerPerformance failed:\n" + Files.readString(log));
    }
    return producerRates(Files.readString(log), warmupSeconds);
  }

  static ProducerRates producerRates(String output, int warmupSeconds) {
    double elapsed = 0;
    double steadyRecords = 0;
    double steadySeconds = 0;
    Double wholeRun = null;
    Matcher m = PERF_LINE.matcher(output);
    while (m.find()) {
      double sent = Double.parseDouble(m.group(1));
      double rate = Double.parseDouble(m.group(2));
      if (m.group().contains("50th")) {
        wholeRun = rate;
        continue;
      }
      double seconds = rate > 0 ? sent / rate : 0;
      if (elapsed >= warmupSeconds) {
        steadyRecords += sent;
        steadySeconds += seconds;
      }
      elapsed += seconds;
    }
    if (wholeRun == null) {
      throw new IllegalStateException("no summary in ProducerPerformance output:\n" + output);
    }
    return new ProducerRates(
        steadySeconds == 0 ? Double.NaN : steadyRecords / steadySeconds, wholeRun);
  }
}
