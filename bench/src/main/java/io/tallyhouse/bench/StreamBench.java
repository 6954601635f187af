package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.apicurioHome;
import static io.tallyhouse.bench.BenchSupport.createTopic;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

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
import io.tallyhouse.testkit.LocalKafka;
import io.tallyhouse.testkit.Ports;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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
 * <p>{@link #main} is the plan; each phase is a class of its own: the preload ({@link
 * StreamPreload}), the peer ({@link EosPassthrough}), the backlog run ({@link StreamBacklog}), the
 * two freshness phases ({@link StreamFreshness}) and ClickHouse's raw insert ({@link
 * ClickHouseRawInsert}).
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
      StreamPreload.preload(ingest.port(), token, warmup + events);

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
      StreamBacklog.Result backlog =
          StreamBacklog.measure(
              clickHouse,
              clickHouseServer.process(),
              stream,
              dir.resolve("stream.log"),
              kafka.bootstrapServers(),
              warmup,
              events);

      double rate = backlog.eventsPerSecond() / 2;
      log(String.format("freshness at %.0f events/s for %d s", rate, seconds));
      StreamFreshness.Result freshness =
          StreamFreshness.measure(ingest.port(), token, clickHouse, rate, seconds, "backlog");
      // The phase above starts while ClickHouse still merges the parts of the measured backlog (a
      // minute or more of a core at the writer's batch sizes): a catch-up's tail, not the steady
      // state. The same load again once its merges are done is the pipeline's own freshness.
      double mergesSettled = StreamBacklog.awaitMergesDone(clickHouse);
      log(
          String.format(
              "freshness at %.0f events/s for %d s once ClickHouse's merges were done (%.1f s)",
              rate, seconds, mergesSettled));
      StreamFreshness.Result steady =
          StreamFreshness.measure(ingest.port(), token, clickHouse, rate, seconds, "steady");

      ClickHouseRawInsert.Result rawInsert = ClickHouseRawInsert.measure(clickHouse);

      long peerThroughput = peer.get("events_per_s").asLong();
      result.put("benchmark", "stream");
      result.put("events_per_s", Math.round(backlog.eventsPerSecond()));
      result.put("eos_passthrough_events_per_s", peerThroughput);
      result.put(
          "ratio_to_eos_passthrough",
          BigDecimal.valueOf(backlog.eventsPerSecond() / peerThroughput)
              .setScale(3, RoundingMode.HALF_UP));
      result.put("cold_events_per_s", Math.round(backlog.coldEventsPerSecond()));
      result.put("cpu_busy_pct", Math.round(backlog.busyPercent()));
      result.set("cpu_us_per_event", backlog.cpuUsPerEvent());
      ClickHouseCounters fed = backlog.fed();
      result.put("clickhouse_insert_queries_per_s", fed.insertQueriesPerSecond(backlog.nanos()));
      result.put("clickhouse_rows_per_insert", fed.rowsPerInsert());
      result.put("clickhouse_merged_rows_per_inserted_row", fed.mergedRowsPerInsertedRow());
      result.put("eos_passthrough_cpu_busy_pct", peer.get("cpu_busy_pct").asLong());
      result.set("eos_passthrough_cpu_us_per_event", peer.get("cpu_us_per_event"));
      result.put("freshness_p50_ms", round1(freshness.p50Millis()));
      result.put("freshness_p99_ms", round1(freshness.p99Millis()));
      result.put("freshness_rate_events_per_s", Math.round(rate));
      result.put("freshness_probes", freshness.probes());
      result.put("freshness_cpu_busy_pct", Math.round(freshness.busyPercent()));
      result.put(
          "freshness_bench_cores",
          BigDecimal.valueOf(freshness.benchCores()).setScale(2, RoundingMode.HALF_UP));
      result.put("merges_done_after_s", round1(mergesSettled));
      result.put("steady_freshness_p50_ms", round1(steady.p50Millis()));
      result.put("steady_freshness_p99_ms", round1(steady.p99Millis()));
      result.put("steady_freshness_probes", steady.probes());
      result.put("steady_freshness_cpu_busy_pct", Math.round(steady.busyPercent()));
      result.put(
          "steady_freshness_bench_cores",
          BigDecimal.valueOf(steady.benchCores()).setScale(2, RoundingMode.HALF_UP));
      result.put("clickhouse_raw_insert_rows_per_s", Math.round(rawInsert.rowsPerSecond()));
      result.put(
          "ratio",
          BigDecimal.valueOf(backlog.eventsPerSecond() / rawInsert.rowsPerSecond())
              .setScale(3, RoundingMode.HALF_UP));
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
}
