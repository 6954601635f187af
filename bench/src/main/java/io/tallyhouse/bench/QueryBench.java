package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.Ports;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code make bench-query}: {@code GET /api/v1/activity} latency on about 10 million events (see
 * {@link ActivityFixture}) with 50 clients in a closed loop, against the very same SQL sent
 * straight to ClickHouse's HTTP interface by 50 clients in the same run. The last line of output is
 * one JSON object.
 *
 * <p>activity-query runs in a child JVM exactly as in production ({@code
 * io.tallyhouse.query.ActivityServer}). Requests: a fifth each of no filter, {@code date=}, {@code
 * api_key_hash=}, {@code user_id=} and {@code group_by=user}, for accounts drawn with the events'
 * own skew, so the largest account gets about 10 % of them. The direct side runs, per request, the
 * statements the service runs for it: the api key lookup (only with {@code api_key_hash}) and then
 * the activity query, built by activity-query's own code.
 *
 * <p>System properties: {@code bench.events} (10000000), {@code bench.accounts} (1000), {@code
 * bench.days} (35), {@code bench.shards} (6, the default partitions of the events topic), {@code
 * bench.concurrency} (50), {@code bench.warmup.seconds} (10), {@code bench.seconds} (30, each
 * measured phase), {@code bench.child.jvm.options} (see {@link ChildJvm}), {@code
 * bench.cache.max.bytes} (the service's {@code CACHE_MAX_BYTES}; unset: its default).
 *
 * <p>{@link #main} is the plan; each phase is a class of its own: loading ({@link QueryData}), the
 * first requests ({@link ColdRequests}), the request mix and its agreement check ({@link
 * QueryMix}), the load phases through the API and straight to ClickHouse ({@link QueryLoad}, each a
 * {@link QueryPhase}, the cache's figures by {@link CacheFigures}) and the restart with the warm-up
 * ({@link QueryWarmup}).
 *
 * <p>The service first runs with its cache warm-up off, so {@code cold_ms} is a first request that
 * loads the account's window. After the measured phases it is restarted on the same data and key
 * file with the warm-up on (its default): {@code warmup_s} is the time from the restart to the
 * warm-up's end, {@code cold_after_warmup_ms} the first requests after it.
 */
public final class QueryBench {

  static final String DATABASE = "bench";

  private QueryBench() {}

  public static void main(String[] args) throws Exception {
    long events = Long.getLong("bench.events", 10_000_000L);
    int accounts = Integer.getInteger("bench.accounts", 1000);
    int days = Integer.getInteger("bench.days", 35);
    int shards = Integer.getInteger("bench.shards", 6);
    int concurrency = Integer.getInteger("bench.concurrency", 50);
    int warmup = Integer.getInteger("bench.warmup.seconds", 10);
    int seconds = Integer.getInteger("bench.seconds", 30);
    Path dir = Files.createTempDirectory("tallyhouse-bench-query-");
    log("working in " + dir);
    String loadBefore = BenchSupport.loadAverage();

    ClickHouseServer server =
        ClickHouseServer.start(dir.resolve("clickhouse"), Ports.freePort(), Ports.freePort());
    // Loading statements run for tens of seconds; the service keeps its own default timeout.
    ClickHouseConfig config =
        new ClickHouseConfig(
            server.httpUrl(), server.user(), server.password(), DATABASE, Duration.ofMinutes(30));
    ObjectNode result = JSON.createObjectNode();
    Process service = null;
    try (ClickHouse clickHouse = new ClickHouse(config)) {
      Migrations.apply(clickHouse);
      LocalDate today = LocalDate.now(ZoneOffset.UTC);
      QueryData.Loaded loaded = QueryData.load(clickHouse, events, accounts, days, today, shards);
      Path keysFile = dir.resolve("keys.jsonl");
      Map<Integer, String> secrets = QueryData.managementKeys(keysFile, accounts);

      int port = Ports.freePort();
      Map<String, String> env = new HashMap<>();
      env.put("HTTP_PORT", String.valueOf(port));
      env.put("CLICKHOUSE_URL", server.httpUrl());
      env.put("CLICKHOUSE_DATABASE", DATABASE);
      env.put("KEYS_FILE", keysFile.toString());
      String cacheMaxBytes = System.getProperty("bench.cache.max.bytes");
      if (cacheMaxBytes != null) {
        env.put("CACHE_MAX_BYTES", cacheMaxBytes); // else the service's default, as in production
      }
      // Without the warm-up: cold_ms times a first request that loads the account's window, and no
      // warm-up competes with the measured phases. The restart at the end measures the warm-up.
      env.put("CACHE_WARMUP", "off");
      service = ChildJvm.start("io.tallyhouse.query.ActivityServer", env, dir.resolve("query.log"));
      BenchSupport.awaitReady("activity-query", port, service, dir.resolve("query.log"));
      ColdRequests.Result first = ColdRequests.measure(port, secrets, accounts);

      List<QueryMix.Probe> probes = QueryMix.probes(clickHouse, accounts, today, 20_000);
      int checked = QueryMix.checkAgreement(probes.subList(0, 100), port, secrets, config);
      log("the service and the direct SQL agree on " + checked + " requests");

      QueryLoad.Result load =
          QueryLoad.measure(
              probes, port, secrets, URI.create(server.httpUrl()), concurrency, warmup, seconds);
      QueryPhase api = load.api();
      QueryPhase direct = load.direct();

      // A restart on the same data and key file, warm-up on (the default): how long until the
      // warm-up is done, and what the first request of an account costs after it.
      service.destroy();
      service.waitFor(30, TimeUnit.SECONDS);
      env.remove("CACHE_WARMUP");
      int restarted = Ports.freePort();
      env.put("HTTP_PORT", String.valueOf(restarted));
      log("restarting the service with its cache warm-up");
      long restart = System.nanoTime();
      service =
          ChildJvm.start("io.tallyhouse.query.ActivityServer", env, dir.resolve("query-2.log"));
      QueryWarmup.Result warmed =
          QueryWarmup.measure(
              restarted, service, dir.resolve("query-2.log"), restart, secrets, accounts);

      result.set("cold_ms", first.coldMs());
      result.set("warm_ms", first.warmMs());
      result.put(
          "warmup_s", BigDecimal.valueOf(warmed.seconds()).setScale(1, RoundingMode.HALF_UP));
      result.put(
          "warmup_in_service_s",
          BigDecimal.valueOf(warmed.inServiceSeconds()).setScale(1, RoundingMode.HALF_UP));
      result.put("warmup_accounts", warmed.accounts());
      result.put("warmup_accounts_planned", warmed.accountsPlanned());
      result.put("warmup_bytes", warmed.bytes());
      result.set("cold_after_warmup_ms", warmed.coldAfterWarmupMs());
      result.put("cold_after_warmup_misses", warmed.misses());
      result.put("benchmark", "query");
      result.put("p50_ms", round1(api.total().p50Millis()));
      result.put("p99_ms", round1(api.total().p99Millis()));
      result.put("clickhouse_direct_p50_ms", round1(direct.total().p50Millis()));
      result.put("clickhouse_direct_p99_ms", round1(direct.total().p99Millis()));
      result.put(
          "overhead_ratio",
          BigDecimal.valueOf(api.total().p99Millis() / direct.total().p99Millis())
              .setScale(2, RoundingMode.HALF_UP));
      result.put("requests_per_s", Math.round(api.total().requestsPerSecond()));
      result.put(
          "clickhouse_direct_requests_per_s", Math.round(direct.total().requestsPerSecond()));
      CacheFigures.put(result, load.cacheBefore(), load.cacheAfter());
      result.put("errors", api.total().errors());
      result.put("clickhouse_direct_errors", direct.total().errors());
      ObjectNode byKind = result.putObject("p99_ms_by_request");
      for (String kind : QueryMix.KINDS) {
        byKind.putArray(kind).add(round1(api.p99(kind))).add(round1(direct.p99(kind)));
      }
      result.put("raw_events", loaded.rawEvents());
      result.put("rollup_rows", loaded.rollupRows());
      result.put("window_rows_over_shards", loaded.windowRows());
      result.put("accounts", accounts);
      result.put("shards", shards);
      result.put("concurrency", concurrency);
      result.put("seconds", seconds);
      result.put("agreement_checked", checked);
      result.put("cores", Runtime.getRuntime().availableProcessors());
      result.put("load_average_before", loadBefore);
    } finally {
      if (service != null) {
        service.destroy();
        service.waitFor(30, TimeUnit.SECONDS);
      }
      server.stop();
      BenchSupport.removeWorkingDirectory(dir);
    }
    BenchSupport.printResultAndExit(result);
  }
}
