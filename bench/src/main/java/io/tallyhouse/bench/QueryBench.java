package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.query.activity.ActivityRepository;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.Ports;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
 * <p>The service first runs with its cache warm-up off, so {@code cold_ms} is a first request that
 * loads the account's window. After the measured phases it is restarted on the same data and key
 * file with the warm-up on (its default): {@code warmup_s} is the time from the restart to the
 * warm-up's end, {@code cold_after_warmup_ms} the first requests after it.
 */
public final class QueryBench {

  private static final String DATABASE = "bench";
  private static final List<String> KINDS =
      List.of("none", "date", "api_key_hash", "user_id", "group_by_user");

  /**
   * One request of the mix: the API path with its query string, and the statements the service runs
   * for it.
   */
  record Probe(String kind, int account, String path, List<String> statements) {}

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
      log(
          String.format(
              "generating %,d events of %d accounts over %d days in ClickHouse",
              events, accounts, days));
      long loadStart = System.nanoTime();
      ActivityFixture.load(clickHouse, events, accounts, days, today.minusDays(1), shards);
      long rawEvents = count(clickHouse, "SELECT count() AS n FROM usage_events");
      long rollupRows = count(clickHouse, "SELECT count() AS n FROM usage_daily FINAL");
      // What the service's cache holds when every account is warm: the window's rows summed over
      // shards.
      long windowRows =
          count(
              clickHouse,
              "SELECT count() AS n FROM (SELECT 1 FROM usage_daily FINAL"
                  + " WHERE date >= "
                  + SqlLiteral.date(today.minusDays(30))
                  + " AND date <= "
                  + SqlLiteral.date(today.minusDays(1))
                  + " GROUP BY account_id, date, api_key_hash, user_id, endpoint_id, model, model_permaslug, provider_name)");
      log(
          String.format(
              "  %,d raw events, %,d rollup rows in %.0f s",
              rawEvents, rollupRows, (System.nanoTime() - loadStart) / 1e9));
      // Both phases must read the same parts: no merge may fold the late versions in between.
      clickHouse.execute("SYSTEM STOP MERGES usage_daily");

      CredentialStore keys = new CredentialStore(dir.resolve("keys.jsonl"));
      Map<Integer, String> secrets = new HashMap<>();
      for (int a = 0; a < accounts; a++) {
        String secret = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
        keys.add(
            secret, CredentialKind.MANAGEMENT, ActivityFixture.accountId(a), List.of(), "bench");
        secrets.put(a, secret);
      }

      int port = Ports.freePort();
      Map<String, String> env = new HashMap<>();
      env.put("HTTP_PORT", String.valueOf(port));
      env.put("CLICKHOUSE_URL", server.httpUrl());
      env.put("CLICKHOUSE_DATABASE", DATABASE);
      env.put("KEYS_FILE", keys.file().toString());
      String cacheMaxBytes = System.getProperty("bench.cache.max.bytes");
      if (cacheMaxBytes != null) {
        env.put("CACHE_MAX_BYTES", cacheMaxBytes); // else the service's default, as in production
      }
      // Without the warm-up: cold_ms times a first request that loads the account's window, and no
      // warm-up competes with the measured phases. The restart at the end measures the warm-up.
      env.put("CACHE_WARMUP", "off");
      service = ChildJvm.start("io.tallyhouse.query.ActivityServer", env, dir.resolve("query.log"));
      BenchSupport.awaitReady("activity-query", port, service, dir.resolve("query.log"));

      // The service answers completed days from memory once its cache has polled the change
      // markers: the first
      // request of an account loads its window (cold), later ones are answered from memory (warm).
      awaitCachePoll(port);
      ObjectNode cold = result.putObject("cold_ms");
      ObjectNode warm = result.putObject("warm_ms");
      for (int a : new int[] {0, accounts / 2}) {
        String account = ActivityFixture.accountId(a);
        cold.put(account, round1(timedGet(port, secrets.get(a), "/api/v1/activity")));
        warm.put(account, round1(timedGet(port, secrets.get(a), "/api/v1/activity")));
      }
      log("first request of an account (loads its 30 days) / the next one: " + cold + " / " + warm);

      List<Probe> probes = probes(clickHouse, accounts, today, 20_000);
      int checked = checkAgreement(probes.subList(0, 100), port, secrets, config);
      log("the service and the direct SQL agree on " + checked + " requests");

      URI clickHouseUri = URI.create(server.httpUrl());
      Phase api;
      Phase direct;
      Map<String, Double> cacheBefore;
      Map<String, Double> cacheAfter;
      try (HttpLoad load = new HttpLoad()) {
        log(
            String.format(
                "GET /api/v1/activity, %d clients: %d s warm-up, %d s measured",
                concurrency, warmup, seconds));
        // The warm-up lasts until every request of the list has been sent once (and at least
        // bench.warmup.seconds),
        // so the measured phase is the steady state of dashboards asking again; what a first
        // request costs is
        // measured apart (cold_ms) and any miss left is counted (cache_misses).
        long warmed = 0;
        do {
          warmed +=
              new Phase(probes, warmed)
                  .viaApi(load, port, secrets, concurrency, warmup)
                  .total
                  .requests();
        } while (warmed < probes.size());
        log("  warm-up: " + warmed + " requests");
        cacheBefore = scrape(port);
        api = new Phase(probes).viaApi(load, port, secrets, concurrency, seconds);
        cacheAfter = scrape(port);
        log("  " + api);
        log(
            String.format(
                "the same SQL straight to ClickHouse, %d clients: %d s warm-up, %d s measured",
                concurrency, warmup, seconds));
        new Phase(probes).direct(load, clickHouseUri, concurrency, warmup);
        direct = new Phase(probes).direct(load, clickHouseUri, concurrency, seconds);
        log("  " + direct);
      }

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
      Map<String, Double> warmed = awaitWarmup(restarted, service, dir.resolve("query-2.log"));
      double warmupSeconds = (System.nanoTime() - restart) / 1e9;
      BenchSupport.awaitReady("activity-query", restarted, service, dir.resolve("query-2.log"));
      result.put("warmup_s", BigDecimal.valueOf(warmupSeconds).setScale(1, RoundingMode.HALF_UP));
      result.put(
          "warmup_in_service_s",
          BigDecimal.valueOf(warmed.get("activity_cache_warmup_seconds"))
              .setScale(1, RoundingMode.HALF_UP));
      result.put(
          "warmup_accounts",
          Math.round(warmed.get("activity_cache_warmup_accounts{progress=\"loaded\"}")));
      result.put(
          "warmup_accounts_planned",
          Math.round(warmed.get("activity_cache_warmup_accounts{progress=\"planned\"}")));
      result.put("warmup_bytes", Math.round(warmed.get("activity_cache_warmup_bytes")));
      ObjectNode coldAfterWarmup = result.putObject("cold_after_warmup_ms");
      for (int a : new int[] {0, accounts / 2}) {
        coldAfterWarmup.put(
            ActivityFixture.accountId(a),
            round1(timedGet(restarted, secrets.get(a), "/api/v1/activity")));
      }
      Map<String, Double> afterWarmup = scrape(restarted);
      result.put(
          "cold_after_warmup_misses",
          Math.round(afterWarmup.getOrDefault(CACHE_ANSWERS + "_count{result=\"miss\"}", 0.0)));
      log(
          String.format(
              "warm-up: %.1f s from the restart, %s of %s accounts, %s bytes; first requests then: %s",
              warmupSeconds,
              result.get("warmup_accounts"),
              result.get("warmup_accounts_planned"),
              result.get("warmup_bytes"),
              coldAfterWarmup));

      result.put("benchmark", "query");
      result.put("p50_ms", round1(api.total.p50Millis()));
      result.put("p99_ms", round1(api.total.p99Millis()));
      result.put("clickhouse_direct_p50_ms", round1(direct.total.p50Millis()));
      result.put("clickhouse_direct_p99_ms", round1(direct.total.p99Millis()));
      result.put(
          "overhead_ratio",
          BigDecimal.valueOf(api.total.p99Millis() / direct.total.p99Millis())
              .setScale(2, RoundingMode.HALF_UP));
      result.put("requests_per_s", Math.round(api.total.requestsPerSecond()));
      result.put("clickhouse_direct_requests_per_s", Math.round(direct.total.requestsPerSecond()));
      putCacheFigures(result, cacheBefore, cacheAfter);
      result.put("errors", api.total.errors());
      result.put("clickhouse_direct_errors", direct.total.errors());
      ObjectNode byKind = result.putObject("p99_ms_by_request");
      for (String kind : KINDS) {
        byKind.putArray(kind).add(round1(api.p99(kind))).add(round1(direct.p99(kind)));
      }
      result.put("raw_events", rawEvents);
      result.put("rollup_rows", rollupRows);
      result.put("window_rows_over_shards", windowRows);
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

  /**
   * {@code n} requests: a fifth of each kind, accounts with the events' skew. Every api_key_hash is
   * one the account reported; user ids follow the events' law, so now and then one matches nothing
   * (an empty answer, also real).
   */
  static List<Probe> probes(ClickHouse clickHouse, int accounts, LocalDate today, int n) {
    Map<String, List<String>> keysOf = new HashMap<>();
    for (JsonNode row : clickHouse.query("SELECT account_id, api_key_hash FROM api_key_hashes")) {
      keysOf
          .computeIfAbsent(row.get("account_id").asText(), k -> new ArrayList<>())
          .add(row.get("api_key_hash").asText());
    }
    Random random = new Random(5);
    List<Probe> probes = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int a = ActivityFixture.account(random, accounts);
      String account = ActivityFixture.accountId(a);
      String kind = KINDS.get(i % KINDS.size());
      if (kind.equals("api_key_hash") && !keysOf.containsKey(account)) {
        kind = "none"; // only with a tiny bench.events: an account without any event
      }
      Map<String, List<String>> params = new LinkedHashMap<>();
      switch (kind) {
        case "date" ->
            params.put("date", List.of(today.minusDays(1 + random.nextInt(30)).toString()));
        case "api_key_hash" -> {
          List<String> keys = keysOf.get(account);
          params.put("api_key_hash", List.of(keys.get(random.nextInt(keys.size()))));
        }
        case "user_id" -> params.put("user_id", List.of(ActivityFixture.user(random, a)));
        case "group_by_user" -> params.put("group_by", List.of("user"));
        default -> {}
      }
      // The service's own parser and SQL builder: the direct side runs exactly its statements.
      ActivityRequest request = ActivityRequest.parse(params, today);
      List<String> statements = new ArrayList<>();
      request
          .apiKeyHash()
          .ifPresent(h -> statements.add(ActivityRepository.apiKeyKnownSql(account, h)));
      statements.add(ActivityRepository.activitySql(account, request));
      StringBuilder path = new StringBuilder("/api/v1/activity");
      params.forEach(
          (name, values) ->
              path.append(path.indexOf("?") < 0 ? '?' : '&')
                  .append(name)
                  .append('=')
                  .append(URLEncoder.encode(values.get(0), StandardCharsets.UTF_8)));
      probes.add(new Probe(kind, a, path.toString(), statements));
    }
    return probes;
  }

  /**
   * Fails unless the service and the direct SQL give the same items for {@code probes}: the same
   * count and the same totals of requests and usage. Guards against timing 401s or empty answers.
   * Returns how many were compared.
   */
  private static int checkAgreement(
      List<Probe> probes, int port, Map<Integer, String> secrets, ClickHouseConfig config)
      throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    try (ClickHouse clickHouse = new ClickHouse(config)) {
      for (Probe probe : probes) {
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + probe.path()))
                    .header("Authorization", "Bearer " + secrets.get(probe.account()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
          throw new IllegalStateException(
              probe.path() + " answered " + response.statusCode() + ": " + response.body());
        }
        JsonNode data = JSON.readTree(response.body()).get("data");
        List<JsonNode> rows =
            clickHouse.query(probe.statements().get(probe.statements().size() - 1));
        long requests = 0;
        BigDecimal usage = BigDecimal.ZERO;
        for (JsonNode item : data) {
          requests += item.get("requests").asLong();
          usage = usage.add(new BigDecimal(item.get("usage").asText()));
        }
        for (JsonNode row : rows) {
          requests -= row.get("requests_sum").asLong();
          usage = usage.subtract(new BigDecimal(row.get("usage_sum").asText()));
        }
        if (data.size() != rows.size() || requests != 0 || usage.signum() != 0) {
          throw new IllegalStateException(
              "the service and ClickHouse disagree on "
                  + probe.path()
                  + " of account "
                  + probe.account());
        }
      }
    }
    return probes.size();
  }

  /** One measured phase: the latencies of all exchanges and of each kind of request. */
  private static final class Phase {

    private final List<Probe> probes;
    private final long first;
    private final Map<String, LatencyRecorder> byKind = new HashMap<>();
    private HttpLoad.Result total;

    Phase(List<Probe> probes) {
      this(probes, 0);
    }

    /** A phase whose first request is the {@code first}-th of the list (modulo its size). */
    Phase(List<Probe> probes, long first) {
      this.probes = probes;
      this.first = first;
      KINDS.forEach(kind -> byKind.put(kind, new LatencyRecorder()));
    }

    double p99(String kind) {
      return byKind.get(kind).percentileMillis(0.99);
    }

    Phase viaApi(
        HttpLoad load, int port, Map<Integer, String> secrets, int concurrency, int seconds)
        throws Exception {
      total =
          load.run(
              (client, n) -> {
                long start = System.nanoTime();
                Probe probe = probes.get((int) ((first + n) % probes.size()));
                RequestOptions get =
                    new RequestOptions()
                        .setMethod(HttpMethod.GET)
                        .setHost("127.0.0.1")
                        .setPort(port)
                        .setURI(probe.path())
                        .putHeader("Authorization", "Bearer " + secrets.get(probe.account()));
                return timed(probe, start, call(client, get, null));
              },
              concurrency,
              Duration.ofSeconds(seconds));
      return this;
    }

    /**
     * The probe's statements one after the other, as the service sends them (database as URL
     * parameter).
     */
    Phase direct(HttpLoad load, URI clickHouse, int concurrency, int seconds) throws Exception {
      RequestOptions post =
          new RequestOptions()
              .setMethod(HttpMethod.POST)
              .setHost(clickHouse.getHost())
              .setPort(clickHouse.getPort())
              .setURI("/?database=" + DATABASE);
      total =
          load.run(
              (client, n) -> {
                long start = System.nanoTime();
                Probe probe = probes.get((int) (n % probes.size()));
                Future<Boolean> chain = Future.succeededFuture(true);
                for (String sql : probe.statements()) {
                  Buffer body = Buffer.buffer(sql + "\nFORMAT JSONEachRow");
                  chain =
                      chain.compose(
                          ok -> ok ? call(client, post, body) : Future.succeededFuture(false));
                }
                return timed(probe, start, chain);
              },
              concurrency,
              Duration.ofSeconds(seconds));
      return this;
    }

    private Future<Boolean> timed(Probe probe, long start, Future<Boolean> answer) {
      return answer.andThen(done -> byKind.get(probe.kind()).record(System.nanoTime() - start));
    }

    /** One request; true when it answered 200 (the body is read to its end either way). */
    private static Future<Boolean> call(HttpClient client, RequestOptions options, Buffer body) {
      return client
          .request(options)
          .compose(request -> body == null ? request.send() : request.send(body))
          .compose(response -> response.body().map(ignored -> response.statusCode() == 200));
    }

    @Override
    public String toString() {
      return String.format(
          "%.0f requests/s, p50 %.1f ms, p99 %.1f ms, %d errors",
          total.requestsPerSecond(), total.p50Millis(), total.p99Millis(), total.errors());
    }
  }

  private static final String CACHE_ANSWERS = "activity_cache_answers_seconds";

  /**
   * Waits until the service's cache has polled the change markers once (before that it answers with
   * SQL).
   */
  private static void awaitCachePoll(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (Double.isNaN(scrape(port).getOrDefault("activity_cache_poll_age_seconds", Double.NaN))) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the service's cache did not poll within 60 s");
      }
      Thread.sleep(50);
    }
  }

  /**
   * Waits until the restarted service reports its cache warm-up done; returns its metrics then.
   * Fails when the service exits, or after 30 minutes (a guard, not an expectation).
   */
  private static Map<String, Double> awaitWarmup(int port, Process service, Path log)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (!service.isAlive()) {
        throw new IllegalStateException("activity-query exited:\n" + Files.readString(log));
      }
      try {
        Map<String, Double> metrics = scrape(port);
        if (metrics.getOrDefault("activity_cache_warmup_done", 0.0) == 1) {
          return metrics;
        }
      } catch (java.io.IOException e) {
        // not yet listening
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("the warm-up did not finish in 30 minutes");
  }

  /** One GET answered 200, in milliseconds. */
  private static double timedGet(int port, String secret, String path) throws Exception {
    long start = System.nanoTime();
    HttpResponse<String> response =
        java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1)
            .build()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header("Authorization", "Bearer " + secret)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    double millis = (System.nanoTime() - start) / 1e6;
    if (response.statusCode() != 200) {
      throw new IllegalStateException(path + " answered " + response.statusCode());
    }
    return millis;
  }

  /** The service's Prometheus metrics: each series (name with labels, as printed) to its value. */
  private static Map<String, Double> scrape(int port) throws Exception {
    String text =
        java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1)
            .build()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<String, Double> series = new HashMap<>();
    for (String line : text.split("\n")) {
      int space = line.lastIndexOf(' ');
      if (!line.startsWith("#") && space > 0) {
        series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
    }
    return series;
  }

  /**
   * The cache's figures of the measured phase, from the service's own counters before and after it:
   * the share of answers given from memory, how many requests had to load, and the p99 of those and
   * of the hits, as the service timed them (the upper edge of the histogram bucket holding it; null
   * without any).
   */
  private static void putCacheFigures(
      ObjectNode result, Map<String, Double> before, Map<String, Double> after) {
    Map<String, Double> answers = new HashMap<>();
    for (String kind : List.of("hit", "miss", "bypass")) {
      String series = CACHE_ANSWERS + "_count{result=\"" + kind + "\"}";
      answers.put(kind, after.getOrDefault(series, 0.0) - before.getOrDefault(series, 0.0));
    }
    double total = answers.values().stream().mapToDouble(Double::doubleValue).sum();
    result.put(
        "cache_hit_ratio",
        total == 0
            ? null
            : BigDecimal.valueOf(answers.get("hit") / total).setScale(4, RoundingMode.HALF_UP));
    result.put("cache_misses", Math.round(answers.get("miss")));
    result.put("cache_bypasses", Math.round(answers.get("bypass")));
    Double p99 = p99Millis("miss", before, after);
    result.put("cache_miss_p99_ms", p99 == null ? null : round1(p99));
    Double p99All = p99Millis("miss", Map.of(), after);
    result.put("cache_miss_p99_ms_whole_run", p99All == null ? null : round1(p99All));
    Double hitP99 = p99Millis("hit", before, after);
    result.put("cache_hit_p99_ms_in_service", hitP99 == null ? null : round1(hitP99));
    result.put(
        "cache_misses_whole_run",
        Math.round(after.getOrDefault(CACHE_ANSWERS + "_count{result=\"miss\"}", 0.0)));
    result.put("cache_bytes_at_end", Math.round(after.getOrDefault("activity_cache_bytes", 0.0)));
    result.put("cache_days_at_end", Math.round(after.getOrDefault("activity_cache_entries", 0.0)));
    result.put(
        "cache_evictions_for_size",
        Math.round(after.getOrDefault("activity_cache_evictions_total{reason=\"size\"}", 0.0)));
  }

  /**
   * The p99 of the service's own time for answers with {@code result} (upper edge of its bucket);
   * null without any.
   */
  private static Double p99Millis(
      String result, Map<String, Double> before, Map<String, Double> after) {
    java.util.TreeMap<Double, Double> buckets = new java.util.TreeMap<>();
    after.forEach(
        (series, count) -> {
          if (series.startsWith(CACHE_ANSWERS + "_bucket{")
              && series.contains("result=\"" + result + "\"")) {
            int le = series.indexOf("le=\"") + 4;
            String bound = series.substring(le, series.indexOf('"', le));
            buckets.put(
                bound.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(bound),
                count - before.getOrDefault(series, 0.0));
          }
        });
    double total = buckets.isEmpty() ? 0 : buckets.lastEntry().getValue();
    if (total == 0) {
      return null;
    }
    for (Map.Entry<Double, Double> bucket : buckets.entrySet()) {
      if (bucket.getValue() >= 0.99 * total) {
        return bucket.getKey() * 1000;
      }
    }
    return null;
  }

  private static long count(ClickHouse clickHouse, String sql) {
    return clickHouse.query(sql).get(0).get("n").asLong();
  }
}
