package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.testkit.ConsumerGroups;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@link StreamBench}'s backlog run: the stream, started after the preload, consumes the preloaded
 * events; the first {@code bench.warmup.events} warm it up, and the clock runs from their being
 * visible until every measured event is in usage_events and counted in usage_daily. Also what waits
 * for the stream's rows ({@link #awaitVisible}, which {@link StreamClusterBench} uses too) and for
 * ClickHouse's merges of them ({@link #awaitMergesDone}).
 */
final class StreamBacklog {

  /**
   * The backlog run's figures.
   *
   * @param eventsPerSecond measured events over the time until all were visible, from the end of
   *     the warm-up
   * @param coldEventsPerSecond warm-up and measured events over the time from readiness
   * @param busyPercent the machine's busy share over the measured interval
   * @param cpuUsPerEvent CPU microseconds per measured event of {@code stream}, {@code clickhouse}
   *     and {@code broker_and_bench} (this JVM)
   * @param fed what ClickHouse was fed over the measured interval
   * @param nanos the measured interval
   */
  record Result(
      double eventsPerSecond,
      double coldEventsPerSecond,
      double busyPercent,
      ObjectNode cpuUsPerEvent,
      ClickHouseCounters fed,
      long nanos) {}

  private StreamBacklog() {}

  /**
   * Measures the ready {@code stream} (its log at {@code streamLog}) through {@code warmup} +
   * {@code events} preloaded events.
   */
  static Result measure(
      ClickHouse clickHouse,
      ProcessHandle clickHouseProcess,
      Process stream,
      Path streamLog,
      String bootstrapServers,
      int warmup,
      int events)
      throws Exception {
    // CPU time per process over the measured interval: which component each event costs the most,
    // a figure far
    // steadier than events/s on a shared 2-core box. This JVM holds the broker (and the idle
    // ingest service).
    List<ProcessHandle> processes =
        List.of(stream.toHandle(), clickHouseProcess, ProcessHandle.current());
    long ready = System.nanoTime();
    Map<Process, Path> streams = Map.of(stream, streamLog);
    Map<String, Object> admin = Map.of("bootstrap.servers", bootstrapServers);
    awaitVisible(clickHouse, warmup, false, streams, admin, "usage-stream");
    log("  warm-up: " + warmup + " events visible; measuring the next " + events);
    long[] processCpuBefore = BenchSupport.cpuNanos(processes);
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
    long[] processCpu = BenchSupport.cpuNanos(processes);
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
    return new Result(throughput, cold, busy, cpuPerEvent, fed, end - start);
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

  /**
   * Waits until ClickHouse has run no merge for three checks a second apart and returns the seconds
   * that took; gives up after ten minutes (a box so slow is reported by the figure, not hidden by
   * failing).
   */
  static double awaitMergesDone(ClickHouse clickHouse) throws InterruptedException {
    long mergesFrom = System.nanoTime();
    long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
    int quiet = 0;
    while (quiet < 3 && System.nanoTime() < deadline) {
      quiet = count(clickHouse, "SELECT count() AS n FROM system.merges") == 0 ? quiet + 1 : 0;
      Thread.sleep(1000);
    }
    return (System.nanoTime() - mergesFrom) / 1e9;
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

  private static long count(ClickHouse clickHouse, String sql) {
    List<JsonNode> rows = clickHouse.query(sql);
    return rows.isEmpty() ? 0 : rows.get(0).get("n").asLong();
  }
}
