package io.tallyhouse.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A closed-loop HTTP load: {@code concurrency} exchanges always outstanding on keep-alive
 * connections, each finished exchange immediately replaced, for a fixed time. One event loop, so
 * the recorder needs no locking, and the load generator takes as little of the 2 cores as it can.
 */
final class HttpLoad implements AutoCloseable {

  /** What one phase did; {@code events} counts the units the successful exchanges carried. */
  record Result(
      long requests, long events, long errors, double seconds, double p50Millis, double p99Millis) {
    double eventsPerSecond() {
      return events / seconds;
    }

    double requestsPerSecond() {
      return requests / seconds;
    }
  }

  /**
   * One exchange of the loop (it may be several HTTP requests in a row); completes with true when
   * every answer was the expected one. {@code sequence} numbers the exchanges of a phase from 0.
   */
  @FunctionalInterface
  interface Exchange {
    Future<Boolean> send(HttpClient client, long sequence);
  }

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
  private final int port;
  private final String token;

  /** A load for {@link #run(Exchange, int, Duration)} only: the exchanges say where they go. */
  HttpLoad() {
    this(0, null);
  }

  /**
   * A load on {@code 127.0.0.1:port}; {@code token} is the bearer of {@link #run(List, int, int,
   * Duration)}.
   */
  HttpLoad(int port, String token) {
    this.port = port;
    this.token = token;
  }

  /**
   * Posts {@code bodies} round-robin to {@code /v1/events} (each holding {@code eventsPerBody}
   * events).
   */
  Result run(List<Buffer> bodies, int eventsPerBody, int concurrency, Duration duration)
      throws Exception {
    RequestOptions options =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setHost("127.0.0.1")
            .setPort(port)
            .setURI("/v1/events")
            .putHeader("Content-Type", "application/json")
            .putHeader("Authorization", "Bearer " + token);
    Result exchanges =
        run(
            (client, n) ->
                client
                    .request(options)
                    .compose(request -> request.send(bodies.get((int) (n % bodies.size()))))
                    .compose(
                        response -> response.body().map(ignored -> response.statusCode() == 202)),
            concurrency,
            duration);
    return new Result(
        exchanges.requests(),
        exchanges.events() * eventsPerBody,
        exchanges.errors(),
        exchanges.seconds(),
        exchanges.p50Millis(),
        exchanges.p99Millis());
  }

  /**
   * Runs {@code exchange} in a closed loop; a failed future counts as an error, like an unexpected
   * answer.
   */
  Result run(Exchange exchange, int concurrency, Duration duration) throws Exception {
    HttpClient client =
        vertx.createHttpClient(
            new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
            new PoolOptions().setHttp1MaxSize(concurrency));
    LatencyRecorder latencies = new LatencyRecorder();
    long[] counters = new long[3]; // exchanges, successful ones, errors
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    CompletableFuture<Void> done = new CompletableFuture<>();
    int[] active = {concurrency};
    Runnable[] loop = new Runnable[1];
    loop[0] =
        () -> {
          long now = System.nanoTime();
          if (now >= end) {
            if (--active[0] == 0) {
              done.complete(null);
            }
            return;
          }
          Future<Boolean> answer;
          try {
            answer = exchange.send(client, counters[0]++);
          } catch (RuntimeException e) {
            answer = Future.failedFuture(e);
          }
          answer.onComplete(
              result -> {
                latencies.record(System.nanoTime() - now);
                if (result.succeeded() && result.result()) {
                  counters[1]++;
                } else {
                  counters[2]++;
                }
                loop[0].run();
              });
        };
    vertx.runOnContext(
        v -> {
          for (int i = 0; i < concurrency; i++) {
            loop[0].run();
          }
        });
    done.get(duration.toSeconds() + 120, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return new Result(
        latencies.count(),
        counters[1],
        counters[2],
        seconds,
        latencies.percentileMillis(0.50),
        latencies.percentileMillis(0.99));
  }

  /**
   * CPU time its event loop has used so far, in nanoseconds: the load generator's own share of the
   * cores it shares with the service and the broker.
   */
  long eventLoopCpuNanos() throws Exception {
    CompletableFuture<Long> cpu = new CompletableFuture<>();
    vertx.runOnContext(
        v -> cpu.complete(ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime()));
    return cpu.get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
