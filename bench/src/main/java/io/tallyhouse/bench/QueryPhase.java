package io.tallyhouse.bench;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One of {@link QueryBench}'s load phases: the mix of {@link QueryMix} sent by closed-loop clients,
 * either to the service's API or as the same statements straight to ClickHouse; its result is the
 * latencies of all exchanges ({@link #total}) and of each kind of request ({@link #p99}).
 */
final class QueryPhase {

  private final List<QueryMix.Probe> probes;
  private final long first;
  private final Map<String, LatencyRecorder> byKind = new HashMap<>();
  private HttpLoad.Result total;

  QueryPhase(List<QueryMix.Probe> probes) {
    this(probes, 0);
  }

  /** A phase whose first request is the {@code first}-th of the list (modulo its size). */
  QueryPhase(List<QueryMix.Probe> probes, long first) {
    this.probes = probes;
    this.first = first;
    QueryMix.KINDS.forEach(kind -> byKind.put(kind, new LatencyRecorder()));
  }

  /** All exchanges of the phase (set once it has run). */
  HttpLoad.Result total() {
    return total;
  }

  /** The p99 of the requests of {@code kind}, in milliseconds. */
  double p99(String kind) {
    return byKind.get(kind).percentileMillis(0.99);
  }

  QueryPhase viaApi(
      HttpLoad load, int port, Map<Integer, String> secrets, int concurrency, int seconds)
      throws Exception {
    total =
        load.run(
            (client, n) -> {
              long start = System.nanoTime();
              QueryMix.Probe probe = probes.get((int) ((first + n) % probes.size()));
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
  QueryPhase direct(HttpLoad load, URI clickHouse, int concurrency, int seconds) throws Exception {
    RequestOptions post =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setHost(clickHouse.getHost())
            .setPort(clickHouse.getPort())
            .setURI("/?database=" + QueryBench.DATABASE);
    total =
        load.run(
            (client, n) -> {
              long start = System.nanoTime();
              QueryMix.Probe probe = probes.get((int) (n % probes.size()));
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

  private Future<Boolean> timed(QueryMix.Probe probe, long start, Future<Boolean> answer) {
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
