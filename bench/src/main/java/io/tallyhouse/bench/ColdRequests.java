package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link QueryBench}'s first measurement, on the idle service started without its cache warm-up:
 * what the first request of an account costs (it loads the account's window from ClickHouse)
 * against the same request right after, answered from memory.
 */
final class ColdRequests {

  /**
   * Per account ({@code acct-0}, the largest, and the median one), in milliseconds, rounded to 0.1.
   *
   * @param coldMs its first request without filters
   * @param warmMs the same request right after
   */
  record Result(ObjectNode coldMs, ObjectNode warmMs) {}

  private ColdRequests() {}

  /**
   * Once the service on {@code port} has polled the change markers, times the first request of the
   * largest and of the median of {@code accounts}, then the same again.
   */
  static Result measure(int port, Map<Integer, String> secrets, int accounts) throws Exception {
    // The service answers completed days from memory once its cache has polled the change
    // markers: the first
    // request of an account loads its window (cold), later ones are answered from memory (warm).
    awaitCachePoll(port);
    ObjectNode cold = JSON.createObjectNode();
    ObjectNode warm = JSON.createObjectNode();
    for (int a : new int[] {0, accounts / 2}) {
      String account = ActivityFixture.accountId(a);
      cold.put(account, round1(ActivityClient.timedGet(port, secrets.get(a), "/api/v1/activity")));
      warm.put(account, round1(ActivityClient.timedGet(port, secrets.get(a), "/api/v1/activity")));
    }
    log("first request of an account (loads its 30 days) / the next one: " + cold + " / " + warm);
    return new Result(cold, warm);
  }

  /**
   * Waits until the service's cache has polled the change markers once (before that it answers with
   * SQL).
   */
  private static void awaitCachePoll(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (Double.isNaN(
        ActivityClient.scrape(port).getOrDefault("activity_cache_poll_age_seconds", Double.NaN))) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the service's cache did not poll within 60 s");
      }
      Thread.sleep(50);
    }
  }
}
