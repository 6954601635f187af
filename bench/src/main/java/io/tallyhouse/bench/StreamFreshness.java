package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.log;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link StreamBench}'s freshness phases: from gateway-ingest's 202 to the event's row visible in
 * usage_daily, under a steady load of arrays of 100 events. The bench runs it twice: right after
 * the measured backlog (ClickHouse still merging it) and once those merges are done.
 */
final class StreamFreshness {

  /**
   * One freshness phase's figures.
   *
   * @param p50Millis median of the probes' 202-to-visible time
   * @param p99Millis their 99th percentile (a probe never seen counts as the whole wait)
   * @param probes how many probes were acknowledged
   * @param busyPercent the machine's busy share while the load was posted
   * @param benchCores cores this JVM used meanwhile: gateway-ingest, the broker and the load
   *     itself, which share the box with the stream and ClickHouse here, unlike in the backlog
   *     phase
   */
  record Result(
      double p50Millis, double p99Millis, int probes, double busyPercent, double benchCores) {}

  private StreamFreshness() {}

  /**
   * Posts arrays of 100 events at {@code rate} events/s for {@code seconds}; every tenth array
   * carries a probe event of its own account, and a poller notes when each probe's row appears in
   * usage_daily. {@code phase} names the phase's probes and events apart from another phase's.
   */
  static Result measure(
      int port, String token, ClickHouse clickHouse, double rate, int seconds, String phase)
      throws Exception {
    long[] ticksBefore = BenchSupport.machineCpuTicks();
    long benchBefore = BenchSupport.cpuNanos(List.of(ProcessHandle.current()))[0];
    long startNanos = System.nanoTime();
    Load load = startLoad(port, token, clickHouse, rate, seconds, phase);
    Thread.sleep(Duration.ofSeconds(seconds).toMillis());
    double busy = BenchSupport.busyPercent(ticksBefore, BenchSupport.machineCpuTicks());
    double benchCores =
        (double) (BenchSupport.cpuNanos(List.of(ProcessHandle.current()))[0] - benchBefore)
            / (System.nanoTime() - startNanos);
    LatencyRecorder latencies = load.awaitProbes();
    Result result =
        new Result(
            latencies.percentileMillis(0.5),
            latencies.percentileMillis(0.99),
            latencies.count(),
            busy,
            benchCores);
    log(
        String.format(
            "  p50 %.0f ms, p99 %.0f ms over %d probes; machine %.0f %% busy, %.2f cores of it"
                + " gateway-ingest, the broker and the load",
            result.p50Millis(), result.p99Millis(), result.probes(), busy, benchCores));
    return result;
  }

  /** The load of one phase, posting and polling on its own threads. */
  private record Load(
      ScheduledExecutorService timer, Map<String, Long> acknowledged, Map<String, Long> visible) {

    /** Waits for the last probes (at most 30 s), stops the load and returns every probe's time. */
    LatencyRecorder awaitProbes() throws InterruptedException {
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
  }

  private static Load startLoad(
      int port, String token, ClickHouse clickHouse, double rate, int seconds, String phase) {
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
                  StreamPreload.post(port, token, body.append(']').toString()),
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
    return new Load(timer, acknowledged, visible);
  }
}
