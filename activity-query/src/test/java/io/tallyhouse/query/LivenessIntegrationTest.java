package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.concurrent.EventExecutor;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.http.EventLoopWatchdog;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.vertx.core.internal.VertxInternal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code /health/live} of a running activity-query fails, naming the loop, while one of its event
 * loops is blocked.
 */
class LivenessIntegrationTest {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void liveFailsWhileAnEventLoopIsBlockedAndRecoversAfter() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    String database = QueryTestEnv.newDatabase("aqlive");
    CredentialStore keys = QueryTestEnv.newKeyStore("activity-query-liveness");
    ActivityServer server =
        ActivityServer.start(
            QueryTestEnv.config(QueryTestEnv.of(endpoint, database, keys.file())),
            Clock.systemUTC());
    CountDownLatch release = new CountDownLatch(1);
    try {
      assertEquals(200, live(server, Duration.ofMinutes(1)).statusCode());
      // One loop is enough; if it also serves HTTP, the probes it holds time out and others answer.
      Iterator<EventExecutor> loops =
          ((VertxInternal) server.vertx()).nettyEventLoopGroup().iterator();
      EventExecutor last = loops.next();
      while (loops.hasNext()) {
        last = loops.next();
      }
      last.execute(
          () -> {
            try {
              release.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      HttpResponse<String> down = awaitStatus(server, 503);
      assertTrue(
          down.body().contains("\"status\":\"DOWN\"") && down.body().contains("blocked"),
          down.body());
      release.countDown();
      awaitStatus(server, 200);
    } finally {
      release.countDown();
      server.close();
      QueryTestEnv.dropDatabase(
          new ClickHouse(
              new ClickHouseConfig(
                  endpoint.httpUrl(), endpoint.user(), endpoint.password(), database)),
          database);
    }
  }

  /**
   * Probes until {@code status} is answered; probes that the blocked loop holds time out and are
   * repeated.
   */
  private static HttpResponse<String> awaitStatus(ActivityServer server, int status)
      throws Exception {
    // The bound is what the watchdog allows plus generous room for a loaded machine.
    long deadline = System.nanoTime() + EventLoopWatchdog.DEFAULT_BOUND.plusMinutes(3).toNanos();
    HttpResponse<String> last = null;
    while (System.nanoTime() < deadline) {
      try {
        last = live(server, Duration.ofSeconds(5));
        if (last.statusCode() == status) {
          return last;
        }
      } catch (HttpTimeoutException e) {
        // held by the blocked loop
      }
      Thread.sleep(200);
    }
    throw new AssertionError(
        "/health/live never answered "
            + status
            + "; last answer: "
            + (last == null ? "none" : last.statusCode() + " " + last.body()));
  }

  private static HttpResponse<String> live(ActivityServer server, Duration timeout)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/health/live"))
            .timeout(timeout)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
