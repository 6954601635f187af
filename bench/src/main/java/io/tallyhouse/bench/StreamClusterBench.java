package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.apicurioHome;
import static io.tallyhouse.bench.BenchSupport.createTopic;
import static io.tallyhouse.bench.BenchSupport.log;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.IngestConfig;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.testkit.ApicurioRegistry;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.KafkaCluster;
import io.tallyhouse.testkit.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code make bench-stream-cluster}: usage-stream on a three-node secured Kafka cluster ({@link
 * KafkaCluster}: SASL_SSL, replication 3, {@code min.insync.replicas=2}) with a 12-partition events
 * topic, run with 1, 2 and 3 stream instances (child JVMs, as in production), each run on an events
 * topic, application id and ClickHouse database of its own. Per run: events/s through dedup, rollup
 * and the writer (after a warm-up, as {@link StreamBench}), and the CPU time per event of the
 * stream JVMs, the three brokers, ClickHouse and this JVM. On two cores the instances share the
 * same two cores, so events/s cannot grow with them; CPU per event shows what an instance more
 * costs. The last line of output is one JSON object.
 *
 * <p>System properties: {@code bench.events} (60000, measured per run), {@code bench.warmup.events}
 * (30000 per run), {@code bench.partitions} (12), {@code bench.instances} ("1,2,3"), {@code
 * bench.env.NAME} (any setting of the stream, e.g. STREAM_THREADS).
 */
public final class StreamClusterBench {

  private StreamClusterBench() {}

  public static void main(String[] args) throws Exception {
    int events = Integer.getInteger("bench.events", 60_000);
    int warmup = Integer.getInteger("bench.warmup.events", 30_000);
    int partitions = Integer.getInteger("bench.partitions", 12);
    List<Integer> instanceCounts =
        Arrays.stream(System.getProperty("bench.instances", "1,2,3").split(","))
            .map(String::trim)
            .map(Integer::valueOf)
            .toList();
    Path dir = Files.createTempDirectory("tallyhouse-bench-stream-cluster-");
    log("working in " + dir);
    String loadBefore = BenchSupport.loadAverage();

    long clusterStart = System.nanoTime();
    KafkaCluster kafka = KafkaCluster.start(dir.resolve("kafka"), 3);
    double clusterStartSeconds = (System.nanoTime() - clusterStart) / 1e9;
    log(String.format("3-node Kafka cluster started in %.1f s", clusterStartSeconds));
    ClickHouseServer clickHouseServer =
        ClickHouseServer.start(dir.resolve("clickhouse"), Ports.freePort(), Ports.freePort());
    ApicurioRegistry registry = ApicurioRegistry.start(apicurioHome(), Ports.freePort());
    String token = BenchSupport.ingestToken(dir.resolve("keys.jsonl"));

    // The services connect as the super user: the ACL checks are the same work for any principal.
    Map<String, String> env = new HashMap<>(kafka.serviceEnvironment(KafkaCluster.ADMIN));
    env.put("SCHEMA_REGISTRY_URL", registry.url());
    env.put("CLICKHOUSE_URL", clickHouseServer.httpUrl());
    env.put("EVENTS_PARTITIONS", String.valueOf(partitions));
    env.put("KEYS_FILE", dir.resolve("keys.jsonl").toString());
    BenchSupport.putServiceSettings(env);

    ObjectNode result = JSON.createObjectNode();
    try {
      double idleBrokerCores = idleCores(kafka);
      log(String.format("the idle brokers use %.2f cores", idleBrokerCores));
      ArrayNode runs = JSON.createArrayNode();
      for (int instances : instanceCounts) {
        runs.add(
            run(instances, events, warmup, partitions, env, token, dir, kafka, clickHouseServer));
      }
      result.put("benchmark", "stream_cluster");
      result.set("runs", runs);
      result.put("events", events);
      result.put("warmup_events", warmup);
      result.put("partitions", partitions);
      result.put("brokers", kafka.nodeIds().size());
      result.put("idle_broker_cores", Math.round(idleBrokerCores * 100) / 100.0);
      result.put("cluster_start_s", Math.round(clusterStartSeconds * 10) / 10.0);
      result.put("cores", Runtime.getRuntime().availableProcessors());
      result.put("load_average_before", loadBefore);
      result.put("load_average_after", BenchSupport.loadAverage());
    } finally {
      registry.stop();
      clickHouseServer.stop();
      kafka.close();
      BenchSupport.removeWorkingDirectory(dir);
    }
    BenchSupport.printResultAndExit(result);
  }

  /**
   * One run: {@code warmup + events} events preloaded into an events topic of its own, then {@code
   * instances} stream instances consume it; measured from the warm-up's last event visible to the
   * last event visible and counted.
   */
  private static ObjectNode run(
      int instances,
      int events,
      int warmup,
      int partitions,
      Map<String, String> baseEnv,
      String token,
      Path dir,
      KafkaCluster kafka,
      ClickHouseServer clickHouseServer)
      throws Exception {
    String applicationId = "usage-stream-" + instances;
    String topic = "usage-events-" + instances;
    Map<String, String> env = new HashMap<>(baseEnv);
    env.put("EVENTS_TOPIC", topic);
    env.put("APPLICATION_ID", applicationId);
    env.put("CLICKHOUSE_DATABASE", "bench_" + instances);
    Map<String, Object> admin = kafka.clientProperties(KafkaCluster.ADMIN);
    createTopic(admin, topic, partitions);

    Map<String, String> ingestEnv = new HashMap<>(env);
    ingestEnv.put("HTTP_PORT", "0");
    log(String.format("%d instance(s): preloading %d + %d events", instances, warmup, events));
    try (IngestServer ingest =
        IngestServer.start(ServiceMain.read(ingestEnv, IngestConfig::read), Clock.systemUTC())) {
      StreamPreload.preload(ingest.port(), token, warmup + events);
    }

    Map<Process, Path> streams = new LinkedHashMap<>();
    try (ClickHouse clickHouse =
        new ClickHouse(ServiceMain.read(env, PipelineSettings::clickHouse))) {
      // The services only check the schema version; making the schema is the operator's step.
      Migrations.apply(clickHouse);
      Map<Process, Integer> ports = new HashMap<>();
      for (int i = 1; i <= instances; i++) {
        Map<String, String> streamEnv = new HashMap<>(env);
        int port = Ports.freePort();
        streamEnv.put("HTTP_PORT", String.valueOf(port));
        streamEnv.put("STATE_DIR", dir.resolve("streams-" + instances + "-" + i).toString());
        Path log = dir.resolve("stream-" + instances + "-" + i + ".log");
        Process stream = ChildJvm.start("io.tallyhouse.stream.UsageStreamApp", streamEnv, log);
        streams.put(stream, log);
        ports.put(stream, port);
      }
      for (Map.Entry<Process, Path> stream : streams.entrySet()) {
        BenchSupport.awaitReady(
            "usage-stream", ports.get(stream.getKey()), stream.getKey(), stream.getValue());
      }
      StreamBacklog.awaitVisible(clickHouse, warmup, false, streams, admin, applicationId);
      log("  warm-up: " + warmup + " events visible; measuring the next " + events);

      Map<String, List<ProcessHandle>> groups = new LinkedHashMap<>();
      groups.put("streams", streams.keySet().stream().map(Process::toHandle).toList());
      groups.put("brokers", kafka.nodeIds().stream().map(kafka::process).toList());
      groups.put("clickhouse", List.of(clickHouseServer.process()));
      groups.put("bench", List.of(ProcessHandle.current()));
      List<ProcessHandle> all = groups.values().stream().flatMap(List::stream).toList();
      long[] cpuBefore = BenchSupport.cpuNanos(all);
      long[] machineBefore = BenchSupport.machineCpuTicks();
      long start = System.nanoTime();
      StreamBacklog.awaitVisible(clickHouse, warmup + events, true, streams, admin, applicationId);
      double seconds = (System.nanoTime() - start) / 1e9;
      long[] cpuAfter = BenchSupport.cpuNanos(all);
      double busy = BenchSupport.busyPercent(machineBefore, BenchSupport.machineCpuTicks());

      ObjectNode cpuPerEvent = JSON.createObjectNode();
      int index = 0;
      double total = 0;
      for (Map.Entry<String, List<ProcessHandle>> group : groups.entrySet()) {
        long nanos = 0;
        for (int i = 0; i < group.getValue().size(); i++, index++) {
          nanos += cpuAfter[index] - cpuBefore[index];
        }
        double perEvent = nanos / 1e3 / events;
        total += perEvent;
        cpuPerEvent.put(group.getKey(), Math.round(perEvent * 10) / 10.0);
      }
      cpuPerEvent.put("total", Math.round(total * 10) / 10.0);
      double throughput = events / seconds;
      log(
          String.format(
              "  %d instance(s): %.0f events/s; machine CPU %.0f %% busy; CPU microseconds per"
                  + " event: %s",
              instances, throughput, busy, cpuPerEvent));
      ObjectNode run = JSON.createObjectNode();
      run.put("instances", instances);
      run.put("events_per_s", Math.round(throughput));
      run.put("cpu_busy_pct", Math.round(busy));
      run.set("cpu_us_per_event", cpuPerEvent);
      run.put("load_average_after", BenchSupport.loadAverage());
      return run;
    } finally {
      for (Process stream : streams.keySet()) {
        stream.destroy();
      }
      for (Process stream : streams.keySet()) {
        if (!stream.waitFor(60, TimeUnit.SECONDS)) {
          stream.destroyForcibly();
        }
      }
    }
  }

  /**
   * The cores the three brokers use over 10 s with no client: replication and quorum fetches,
   * heartbeats. At a low event rate this fixed cost dominates their CPU per event.
   */
  private static double idleCores(KafkaCluster kafka) throws InterruptedException {
    List<ProcessHandle> brokers = kafka.nodeIds().stream().map(kafka::process).toList();
    long[] before = BenchSupport.cpuNanos(brokers);
    long start = System.nanoTime();
    Thread.sleep(10_000);
    long[] after = BenchSupport.cpuNanos(brokers);
    long nanos = 0;
    for (int i = 0; i < before.length; i++) {
      nanos += after[i] - before[i];
    }
    return (double) nanos / (System.nanoTime() - start);
  }
}
