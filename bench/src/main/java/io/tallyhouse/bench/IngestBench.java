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
 * bench.partitions} (6), {@code bench.single.concurrency} (128), {@code bench.batch.concurrency}
 * (16), {@code bench.producer.records} (1500000).
 */
public final class IngestBench {

  private static final Pattern PERF_SUMMARY =
      Pattern.compile("(\\d+) records sent, ([0-9.]+) records/sec");

  private IngestBench() {}

  public static void main(String[] args) throws Exception {
    int seconds = Integer.getInteger("bench.seconds", 20);
    int partitions = Integer.getInteger("bench.partitions", 6);
    int singleConcurrency = Integer.getInteger("bench.single.concurrency", 128);
    int batchConcurrency = Integer.getInteger("bench.batch.concurrency", 16);
    int producerRecords = Integer.getInteger("bench.producer.records", 1_500_000);
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
      double producerRate = producerPerformance(kafka, dir, producerRecords);
      log(String.format("  %.0f records/s", producerRate));

      String token = BenchSupport.ingestToken(dir.resolve("keys.jsonl"));
      int port = Ports.freePort();
      Map<String, String> env = new HashMap<>();
      env.put("HTTP_PORT", String.valueOf(port));
      env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
      env.put("SCHEMA_REGISTRY_URL", registry.url());
      env.put("KEYS_FILE", dir.resolve("keys.jsonl").toString());
      env.put("EVENTS_PARTITIONS", String.valueOf(partitions));
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

      HttpLoad.Result single;
      HttpLoad.Result batch;
      try (HttpLoad load = new HttpLoad(port, token)) {
        log("warm-up");
        load.run(singles, 1, singleConcurrency, Duration.ofSeconds(5));
        load.run(batches, 100, batchConcurrency, Duration.ofSeconds(5));
        log("single events, " + singleConcurrency + " concurrent requests, " + seconds + " s");
        single = load.run(singles, 1, singleConcurrency, Duration.ofSeconds(seconds));
        log(
            String.format(
                "  %.0f events/s, p50 %.1f ms, p99 %.1f ms, %d errors",
                single.eventsPerSecond(), single.p50Millis(), single.p99Millis(), single.errors()));
        log(
            "arrays of 100 events, "
                + batchConcurrency
                + " concurrent requests, "
                + seconds
                + " s");
        batch = load.run(batches, 100, batchConcurrency, Duration.ofSeconds(seconds));
        log(
            String.format(
                "  %.0f events/s, p50 %.1f ms, p99 %.1f ms, %d errors",
                batch.eventsPerSecond(), batch.p50Millis(), batch.p99Millis(), batch.errors()));
      }

      result.put("benchmark", "ingest");
      result.put("batch_events_per_s", Math.round(batch.eventsPerSecond()));
      result.put("single_events_per_s", Math.round(single.eventsPerSecond()));
      result.put("kafka_producer_events_per_s", Math.round(producerRate));
      result.put(
          "ratio",
          BigDecimal.valueOf(batch.eventsPerSecond() / producerRate)
              .setScale(3, RoundingMode.HALF_UP));
      result.put("batch_p99_ms", round1(batch.p99Millis()));
      result.put("single_p99_ms", round1(single.p99Millis()));
      result.put("batch_p50_ms", round1(batch.p50Millis()));
      result.put("single_p50_ms", round1(single.p50Millis()));
      result.put("batch_errors", batch.errors());
      result.put("single_errors", single.errors());
      result.put("partitions", partitions);
      result.put("seconds", seconds);
      result.put("cores", Runtime.getRuntime().availableProcessors());
    } finally {
      if (ingest != null) {
        ingest.destroy();
        ingest.waitFor(30, TimeUnit.SECONDS);
      }
      registry.stop();
      kafka.stop();
      BenchSupport.removeWorkingDirectory(dir);
    }
    BenchSupport.printResultAndExit(result);
  }

  private static double producerPerformance(LocalKafka kafka, Path dir, int records)
      throws Exception {
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
    String output = Files.readString(log);
    Matcher last = null;
    Matcher m = PERF_SUMMARY.matcher(output);
    while (m.find()) {
      last = PERF_SUMMARY.matcher(m.group());
      last.find();
    }
    if (last == null) {
      throw new IllegalStateException("no summary in ProducerPerformance output:\n" + output);
    }
    return Double.parseDouble(last.group(2));
  }
}
