package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.apicurioHome;
import static io.tallyhouse.bench.BenchSupport.createTopic;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.IngestConfig;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.testkit.ApicurioRegistry;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.ConsumerGroups;
import io.tallyhouse.testkit.LocalKafka;
import io.tallyhouse.testkit.Ports;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code make bench-stream}: throughput of the exactly-once topology plus the ClickHouse writer
 * (preloaded events until every one is visible in both tables), end-to-end freshness (202 from
 * gateway-ingest until the event's row is visible in ClickHouse) at about half that rate, and
 * ClickHouse's raw insert speed for the same rows, in one run on the same servers. The last line of
 * output is one JSON object.
 *
 * <p>The throughput is measured as a JVM benchmark harness would: {@code bench.warmup.events} more
 * events are preloaded ahead of the measured ones, and the clock starts once they are visible, so
 * the figure is the service's steady state rather than its first seconds of JIT compilation (which
 * took about a third of the stream JVM's CPU then). The whole run from readiness is reported too,
 * as {@code cold_events_per_s}.
 *
 * <p>Before the stream starts, its same-run peer ({@link EosPassthrough}: Kafka Streams with
 * exactly-once copying the same preloaded events, with usage-stream's own settings) is timed the
 * same way, which gives {@code eos_passthrough_events_per_s} and {@code ratio_to_eos_passthrough}.
 *
 * <p>System properties: {@code bench.events} (1200000, measured), {@code bench.warmup.events}
 * (400000), {@code bench.partitions} (6), {@code bench.seconds} (20, the freshness phase), {@code
 * bench.commit.interval.ms} (the service's default unless set).
 */
public final class StreamBench {

  private StreamBench() {}

  public static void main(String[] args) throws Exception {
    int events = Integer.getInteger("bench.events", 1_200_000);
    int warmup = Integer.getInteger("bench.warmup.events", 400_000);
    int partitions = Integer.getInteger("bench.partitions", 6);
    int seconds = Integer.getInteger("bench.seconds", 20);
    String loadBefore = BenchSupport.loadAverage();
    Path dir = Files.createTempDirectory("tallyhouse-bench-stream-");
    log("working in " + dir);

    LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), Ports.freePort(), Ports.freePort());
    ClickHouseServer clickHouseServer =
        ClickHouseServer.start(dir.resolve("clickhouse"), Ports.freePort(), Ports.freePort());
    ApicurioRegistry registry = ApicurioRegistry.start(apicurioHome(), Ports.freePort());
    String token = BenchSupport.ingestToken(dir.resolve("keys.jsonl"));

    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    env.put("SCHEMA_REGISTRY_URL", registry.url());
    env.put("CLICKHOUSE_URL", clickHouseServer.httpUrl());
    env.put("CLICKHOUSE_DATABASE", "bench");
    env.put("EVENTS_PARTITIONS", String.valueOf(partitions));
    env.put("KEYS_FILE", dir.resolve("keys.jsonl").toString());
    env.put("STATE_DIR", dir.resolve("streams").toString());
    if (System.getProperty("bench.commit.interval.ms") != null) {
      env.put("COMMIT_INTERVAL_MS", System.getProperty("bench.commit.interval.ms"));
    }
    BenchSupport.putServiceSettings(env);

    ObjectNode result = JSON.createObjectNode();
    Process stream = null;
    IngestServer ingest = null;
    try (ClickHouse clickHouse =
        new ClickHouse(ServiceMain.read(env, PipelineSettings::clickHouse))) {
      Migrations.apply(clickHouse);
      createTopic(kafka, "usage-events", partitions);
      Map<String, String> ingestEnv = new HashMap<>(env);
      ingestEnv.put("HTTP_PORT", "0");
      ingest =
          IngestServer.start(ServiceMain.read(ingestEnv, IngestConfig::read), Clock.systemUTC());

      log(
          "preloading "
              + warmup
              + " + "
              + events
              + " events through gateway-ingest (arrays of 500)");
      preload(ingest.port(), token, warmup + events);

      Map<String, String> streamEnv = new HashMap<>(env);
      streamEnv.put("HTTP_PORT", String.valueOf(Ports.freePort()));
      StreamConfig streamConfig = ServiceMain.read(streamEnv, StreamConfig::read);
      // The peer runs first, alone: the topic holds exactly the preloaded events then (the
      // freshness phase adds more), and ClickHouse is idle (after the stream it merges for
      // minutes).
      log(
          "eos passthrough peer: copying the same "
              + warmup
              + " + "
              + events
              + " events to "
              + EosPassthrough.OUTPUT_TOPIC);
      ObjectNode peer =
          EosPassthrough.measure(
              streamEnv, kafka.bootstrapServers(), partitions, dir, warmup, events);
      log("  peer: " + peer);
      // The stream is timed minutes later: on a shared box the load may have changed by then.
      String loadAfterPeer = BenchSupport.loadAverage();

      stream =
          ChildJvm.start(
              "io.tallyhouse.stream.UsageStreamApp", streamEnv, dir.resolve("stream.log"));
      BenchSupport.awaitReady(
          "usage-stream",
          Integer.parseInt(streamEnv.get("HTTP_PORT")),
          stream,
          dir.resolve("stream.log"));
      // CPU time per process over the measured interval: which component each event costs the most,
      // a figure far
      // steadier than events/s on a shared 2-core box. This JVM holds the broker (and the idle
      // ingest service).
      List<ProcessHandle> processes =
          List.of(stream.toHandle(), clickHouseServer.process(), ProcessHandle.current());
      long ready = System.nanoTime();
      Map<Process, Path> streams = Map.of(stream, dir.resolve("stream.log"));
      Map<String, Object> admin = Map.of("bootstrap.servers", kafka.bootstrapServers());
      awaitVisible(clickHouse, warmup, false, streams, admin, "usage-stream");
      log("  warm-up: " + warmup + " events visible; measuring the next " + events);
      long[] processCpuBefore = cpuNanos(processes);
      ClickHouseCounters countersBefore = ClickHouseCounters.read(clickHouse);
      long start = System.nanoTime();
      long[] cpuBefore = BenchSupport.machineCpuTicks();
      awaitVisible(clickHouse, warmup + events, true, streams, admin, "usage-stream");
      long end = System.nanoTime();
      // What ClickHouse was fed over the measured interval: the writer's inserts and their merges.
      ClickHouseCounters fed = ClickHouseCounters.read(clickHouse).since(countersBefore);
      double throughput = events / ((end - start) / 1e9);
      double cold = (warmup + events) / ((end - ready) / 1e9);
      double busy = BenchSupport.busyPercent(cpuBefore, BenchSupport.machineCpuTicks());
      long[] processCpu = cpuNanos(processes);
      ObjectNode cpuPerEvent = JSON.createObjectNode();
      String[] names = {"stream", "clickhouse", "broker_and_bench"};
      for (int i = 0; i < names.length; i++) {
        cpuPerEvent.put(
            names[i], Math.round((processCpu[i] - processCpuBefore[i]) / 1e3 / events * 10) / 10.0);
      }
      log(
          String.format(
              "  %.0f events/s through dedup, rollup and the ClickHouse writer; machine CPU %.0f %% busy;"
                  + " CPU microseconds per event: %s",
              throughput, busy, cpuPerEvent));
      log(
          String.format(
              "  ClickHouse was fed %s inserts/s of %s rows each; its merges rewrote %s rows per row",
              fed.insertQueriesPerSecond(end - start),
              fed.rowsPerInsert(),
              fed.mergedRowsPerInsertedRow()));

      double rate = throughput / 2;
      log(String.format("freshness at %.0f events/s for %d s", rate, seconds));
      LatencyRecorder freshness =
          freshness(ingest.port(), token, clickHouse, rate, seconds, "backlog");
      log(
          String.format(
              "  p50 %.0f ms, p99 %.0f ms over %d probes",
              freshness.percentileMillis(0.5),
              freshness.percentileMillis(0.99),
              freshness.count()));
      // The phase above starts while ClickHouse still merges the parts of the measured backlog (a
      // minute or more of a core at the writer's batch sizes): a catch-up's tail, not the steady
      // state. The same load again once its merges are done is the pipeline's own freshness.
      long mergesFrom = System.nanoTime();
      awaitMergesDone(clickHouse);
      double mergesSettled = (System.nanoTime() - mergesFrom) / 1e9;
      log(
          String.format(
              "freshness at %.0f events/s for %d s once ClickHouse's merges were done (%.1f s)",
              rate, seconds, mergesSettled));
      LatencyRecorder steady = freshness(ingest.port(), token, clickHouse, rate, seconds, "steady");
      log(
          String.format(
              "  p50 %.0f ms, p99 %.0f ms over %d probes",
              steady.percentileMillis(0.5), steady.percentileMillis(0.99), steady.count()));

      double rawInsert = rawInsertSpeed(clickHouse);
      log(
          String.format(
              "ClickHouse raw insert of the same usage_events rows: %.0f rows/s", rawInsert));

      long peerThroughput = peer.get("events_per_s").asLong();
      result.put("benchmark", "stream");
      result.put("events_per_s", Math.round(throughput));
      result.put("eos_passthrough_events_per_s", peerThroughput);
      result.put(
          "ratio_to_eos_passthrough",
          BigDecimal.valueOf(throughput / peerThroughput).setScale(3, RoundingMode.HALF_UP));
      result.put("cold_events_per_s", Math.round(cold));
      result.put("cpu_busy_pct", Math.round(busy));
      result.set("cpu_us_per_event", cpuPerEvent);
      result.put("clickhouse_insert_queries_per_s", fed.insertQueriesPerSecond(end - start));
      result.put("clickhouse_rows_per_insert", fed.rowsPerInsert());
      result.put("clickhouse_merged_rows_per_inserted_row", fed.mergedRowsPerInsertedRow());
      result.put("eos_passthrough_cpu_busy_pct", peer.get("cpu_busy_pct").asLong());
      result.set("eos_passthrough_cpu_us_per_event", peer.get("cpu_us_per_event"));
      result.put("freshness_p50_ms", round1(freshness.percentileMillis(0.5)));
      result.put("freshness_p99_ms", round1(freshness.percentileMillis(0.99)));
      result.put("freshness_rate_events_per_s", Math.round(rate));
      result.put("freshness_probes", freshness.count());
      result.put("merges_done_after_s", round1(mergesSettled));
      result.put("steady_freshness_p50_ms", round1(steady.percentileMillis(0.5)));
      result.put("steady_freshness_p99_ms", round1(steady.percentileMillis(0.99)));
      result.put("steady_freshness_probes", steady.count());
      result.put("clickhouse_raw_insert_rows_per_s", Math.round(rawInsert));
      result.put(
          "ratio", BigDecimal.valueOf(throughput / rawInsert).setScale(3, RoundingMode.HALF_UP));
      result.put("events", events);
      result.put("warmup_events", warmup);
      result.put("partitions", partitions);
      result.put("stream_threads", streamConfig.streamThreads(partitions));
      result.put("commit_interval_ms", streamConfig.commitInterval().toMillis());
      result.put("cores", Runtime.getRuntime().availableProcessors());
      result.put("load_average_before", loadBefore);
      result.put("load_average_after_eos_passthrough", loadAfterPeer);
      result.put("load_average_after", BenchSupport.loadAverage());
    } finally {
      if (stream != null) {
        stream.destroy();
        stream.waitFor(60, TimeUnit.SECONDS);
      }
      if (ingest != null) {
        ingest.close();
      }
      registry.stop();
      clickHouseServer.stop();
      kafka.stop();
      BenchSupport.removeWorkingDirectory(dir);
    }
    BenchSupport.printResultAndExit(result);
  }

  /** Realistic distinct events of the last 24 hours, posted in arrays of 500. */
  static void preload(int port, String token, int events) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    Random random = new Random(3);
    Instant now = Instant.now();
    List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
    for (int first = 0; first < events; first += 500) {
      StringBuilder body = new StringBuilder("[");
      for (int i = first; i < Math.min(events, first + 500); i++) {
        body.append(i == first ? "" : ",")
            .append(
                BenchSupport.event(random, "p-" + i, now.minusMillis(random.nextInt(86_400_000))));
      }
      pending.add(
          http.sendAsync(
              post(port, token, body.append(']').toString()),
              HttpResponse.BodyHandlers.ofString()));
      if (pending.size() == 8) {
        expectAccepted(pending);
      }
    }
    expectAccepted(pending);
  }

  private static void expectAccepted(
      List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> pending) throws Exception {
    for (var response : pending) {
      HttpResponse<String> r = response.get(60, TimeUnit.SECONDS);
      if (r.statusCode() != 202) {
        throw new IllegalStateException(
            "ingest refused the preload: " + r.statusCode() + " " + r.body());
      }
    }
    pending.clear();
  }

  private static HttpRequest post(int port, String token, String body) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private static long count(ClickHouse clickHouse, String sql) {
    List<JsonNode> rows = clickHouse.query(sql);
    return rows.isEmpty() ? 0 : rows.get(0).get("n").asLong();
  }

  /**
   * Waits until {@code events} rows are in usage_events and, when {@code counted}, their requests
   * in usage_daily too, while every stream instance ({@code streams}: process and log) runs.
   * Progress lines show the consumer groups of {@code applicationId}, read with {@code admin}
   * client properties.
   */
  static void awaitVisible(
      ClickHouse clickHouse,
      long events,
      boolean counted,
      Map<Process, Path> streams,
      Map<String, Object> admin,
      String applicationId)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
    long start = System.nanoTime();
    long nextProgress = start;
    while (System.nanoTime() < deadline) {
      if (System.nanoTime() >= nextProgress) {
        // Where a slow run loses its time: the topology's consumption against the rows that reached
        // ClickHouse.
        nextProgress += Duration.ofSeconds(5).toNanos();
        log(
            String.format(
                "  %5.1f s: topology consumed %d events, writer consumed %d records (raw + rollup),"
                    + " usage_events %d rows",
                (System.nanoTime() - start) / 1e9,
                committed(admin, applicationId),
                committed(admin, applicationId + "-clickhouse-writer"),
                countOrZero(clickHouse, "SELECT count() AS n FROM usage_events")));
      }
      for (Map.Entry<Process, Path> stream : streams.entrySet()) {
        if (!stream.getKey().isAlive()) {
          throw new IllegalStateException(
              "usage-stream exited:\n" + Files.readString(stream.getValue()));
        }
      }
      try {
        // Without FINAL for speed while counting; copies only make the counts reach the target
        // earlier, so the
        // end is confirmed with FINAL.
        if (count(clickHouse, "SELECT count() AS n FROM usage_events") >= events
            && (!counted
                || count(clickHouse, "SELECT sum(requests) AS n FROM usage_daily FINAL")
                    >= events)) {
          return;
        }
      } catch (RuntimeException e) {
        // tables not there yet
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("the preloaded events did not become visible in time");
  }

  /** The sum of a consumer group's committed offsets over all its partitions. */
  private static long committed(Map<String, Object> adminProperties, String group) {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(adminProperties)) {
      return ConsumerGroups.committedSum(admin, group);
    }
  }

  private static long countOrZero(ClickHouse clickHouse, String sql) {
    try {
      return count(clickHouse, sql);
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /**
   * Posts arrays of 100 events at {@code rate} events/s; every tenth array carries a probe event of
   * its own account, and a poller notes when each probe's row appears in usage_daily.
   */
  private static LatencyRecorder freshness(
      int port, String token, ClickHouse clickHouse, double rate, int seconds, String phase)
      throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    Random random = new Random(4);
    Map<String, Long> acknowledged = new ConcurrentHashMap<>();
    Map<String, Long> visible = new ConcurrentHashMap<>();
    AtomicLong sequence = new AtomicLong();
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
    long periodMicros = (long) (100 * 1_000_000 / rate);
    long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
    timer.scheduleAtFixedRate(
        () -> {
          if (System.nanoTime() > end) {
            return;
          }
          long n = sequence.getAndIncrement();
          String probe = n % 10 == 0 ? "probe-" + phase + "-" + n : null;
          StringBuilder body = new StringBuilder("[");
          for (int i = 0; i < 100; i++) {
            ObjectNode e =
                BenchSupport.event(random, "f-" + phase + "-" + n + "-" + i, Instant.now());
            if (i == 0 && probe != null) {
              e.put("account_id", probe);
            }
            body.append(i == 0 ? "" : ",").append(e);
          }
          http.sendAsync(
                  post(port, token, body.append(']').toString()),
                  HttpResponse.BodyHandlers.discarding())
              .thenAccept(
                  r -> {
                    if (r.statusCode() == 202 && probe != null) {
                      acknowledged.put(probe, System.nanoTime());
                    }
                  });
        },
        0,
        periodMicros,
        TimeUnit.MICROSECONDS);
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            long now = System.nanoTime();
            for (JsonNode row :
                clickHouse.query(
                    "SELECT DISTINCT account_id FROM usage_daily WHERE account_id LIKE 'probe-"
                        + phase
                        + "-%'")) {
              visible.putIfAbsent(row.get("account_id").asText(), now);
            }
          } catch (RuntimeException e) {
            // try again at the next tick
          }
        },
        0,
        50,
        TimeUnit.MILLISECONDS);
    Thread.sleep(Duration.ofSeconds(seconds).toMillis());
    // Let the last probes arrive.
    long drain = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < drain && !visible.keySet().containsAll(acknowledged.keySet())) {
      Thread.sleep(100);
    }
    timer.shutdownNow();
    LatencyRecorder latencies = new LatencyRecorder();
    for (Map.Entry<String, Long> ack : acknowledged.entrySet()) {
      Long seen = visible.get(ack.getKey());
      // A probe never seen counts as the whole wait, so it cannot flatter the result.
      latencies.record(Math.max(0, (seen == null ? System.nanoTime() : seen) - ack.getValue()));
    }
    return latencies;
  }

  /**
   * Waits until ClickHouse has run no merge for three checks a second apart; gives up after ten
   * minutes (a box so slow is reported by the figure, not hidden by failing).
   */
  private static void awaitMergesDone(ClickHouse clickHouse) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
    int quiet = 0;
    while (quiet < 3 && System.nanoTime() < deadline) {
      quiet = count(clickHouse, "SELECT count() AS n FROM system.merges") == 0 ? quiet + 1 : 0;
      Thread.sleep(1000);
    }
  }

  /** Total CPU time so far of each process, in nanoseconds. */
  static long[] cpuNanos(List<ProcessHandle> processes) {
    return processes.stream()
        .mapToLong(
            p ->
                p.info()
                    .totalCpuDuration()
                    .orElseThrow(
                        () -> new IllegalStateException("no CPU time for process " + p.pid()))
                    .toNanos())
        .toArray();
  }

  /**
   * Inserts the usage_events rows again into an empty copy of the table, in batches like the
   * writer's.
   */
  private static double rawInsertSpeed(ClickHouse clickHouse) {
    clickHouse.execute("CREATE TABLE IF NOT EXISTS usage_events_copy AS usage_events");
    // The rows as ClickHouse prints them in the writer's format (TabSeparated, exact decimal
    // digits), cut into
    // batches the size of the writer's.
    List<String> columns =
        clickHouse
            .query(
                "SELECT name FROM system.columns WHERE database = currentDatabase()"
                    + " AND table = 'usage_events'")
            .stream()
            .map(row -> row.get("name").asText())
            .toList();
    byte[] all =
        clickHouse.queryTabSeparated("SELECT " + String.join(", ", columns) + " FROM usage_events");
    List<byte[]> batches = new ArrayList<>();
    int rows = 0;
    int batchStart = 0;
    int inBatch = 0;
    for (int i = 0; i < all.length; i++) {
      if (all[i] == '\n') {
        rows++;
        if (++inBatch == 20_000 || i == all.length - 1) {
          batches.add(java.util.Arrays.copyOfRange(all, batchStart, i + 1));
          batchStart = i + 1;
          inBatch = 0;
        }
      }
    }
    if (batchStart < all.length) {
      batches.add(java.util.Arrays.copyOfRange(all, batchStart, all.length));
    }
    long start = System.nanoTime();
    for (byte[] b : batches) {
      clickHouse.insertTabSeparated("usage_events_copy", columns, b);
    }
    return rows / ((System.nanoTime() - start) / 1e9);
  }
}
