package io.tallyhouse.bench;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A closed-loop HTTP load: {@code concurrency} requests always outstanding on keep-alive connections, each answered
 * request immediately replaced, for a fixed time. One event loop, so the recorder needs no locking, and the load
 * generator takes as little of the 2 cores as it can.
 */
final class HttpLoad implements AutoCloseable {

  /** What one phase did. */
  record Result(long requests, long events, long errors, double seconds, double p50Millis, double p99Millis) {
    double eventsPerSecond() {
      return events / seconds;
    }
  }

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
  private final int port;
  private final String token;

  HttpLoad(int port, String token) {
    this.port = port;
    this.token = token;
  }

  /** Posts {@code bodies} round-robin (each holding {@code eventsPerBody} events) for {@code duration}. */
  Result run(List<Buffer> bodies, int eventsPerBody, int concurrency, Duration duration) throws Exception {
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(concurrency));
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
        .setURI("/v1/events").putHeader("Content-Type", "application/json")
        .putHeader("Authorization", "Bearer " + token);
    LatencyRecorder latencies = new LatencyRecorder();
    long[] counters = new long[3]; // requests, events, errors
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    CompletableFuture<Void> done = new CompletableFuture<>();
    int[] active = {concurrency};
    int[] next = {0};
    Runnable[] loop = new Runnable[1];
    loop[0] = () -> {
      long now = System.nanoTime();
      if (now >= end) {
        if (--active[0] == 0) {
          done.complete(null);
        }
        return;
      }
      Buffer body = bodies.get(next[0]++ % bodies.size());
      client.request(options)
          .compose(request -> request.send(body))
          .compose(response -> response.body().map(ignored -> response.statusCode()))
          .onComplete(result -> {
            latencies.record(System.nanoTime() - now);
            counters[0]++;
            if (result.succeeded() && result.result() == 202) {
              counters[1] += eventsPerBody;
            } else {
              counters[2]++;
            }
            loop[0].run();
          });
    };
    vertx.runOnContext(v -> {
      for (int i = 0; i < concurrency; i++) {
        loop[0].run();
      }
    });
    done.get(duration.toSeconds() + 120, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return new Result(counters[0], counters[1], counters[2], seconds, latencies.percentileMillis(0.50),
        latencies.percentileMillis(0.99));
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
