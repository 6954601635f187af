package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.log;

import java.net.URI;
import java.util.List;
import java.util.Map;

/**
 * {@link QueryBench}'s load phases: the mix through the service's API (a warm-up until every
 * request has been sent once, then the measured phase, with the service's metrics read before and
 * after it), then the same statements straight to ClickHouse (a warm-up and the measured phase).
 */
final class QueryLoad {

  /**
   * The load phases' figures.
   *
   * @param api the measured phase through {@code /api/v1/activity}
   * @param direct the measured phase straight to ClickHouse
   * @param cacheBefore the service's metrics right before {@code api}
   * @param cacheAfter the service's metrics right after {@code api}
   */
  record Result(
      QueryPhase api,
      QueryPhase direct,
      Map<String, Double> cacheBefore,
      Map<String, Double> cacheAfter) {}

  private QueryLoad() {}

  /**
   * Sends {@code probes} to the service on {@code port} and then to ClickHouse at {@code
   * clickHouseUri}, {@code concurrency} clients, {@code warmup} seconds of warm-up (at least) and
   * {@code seconds} measured each.
   */
  static Result measure(
      List<QueryMix.Probe> probes,
      int port,
      Map<Integer, String> secrets,
      URI clickHouseUri,
      int concurrency,
      int warmup,
      int seconds)
      throws Exception {
    QueryPhase api;
    QueryPhase direct;
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
            new QueryPhase(probes, warmed)
                .viaApi(load, port, secrets, concurrency, warmup)
                .total()
                .requests();
      } while (warmed < probes.size());
      log("  warm-up: " + warmed + " requests");
      cacheBefore = ActivityClient.scrape(port);
      api = new QueryPhase(probes).viaApi(load, port, secrets, concurrency, seconds);
      cacheAfter = ActivityClient.scrape(port);
      log("  " + api);
      log(
          String.format(
              "the same SQL straight to ClickHouse, %d clients: %d s warm-up, %d s measured",
              concurrency, warmup, seconds));
      new QueryPhase(probes).direct(load, clickHouseUri, concurrency, warmup);
      direct = new QueryPhase(probes).direct(load, clickHouseUri, concurrency, seconds);
      log("  " + direct);
    }
    return new Result(api, direct, cacheBefore, cacheAfter);
  }
}
