package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link QueryBench}'s last measurement, on the service restarted with its cache warm-up on (its
 * default): how long the warm-up takes, what it kept, and what the first request of an account
 * costs after it.
 */
final class QueryWarmup {

  /**
   * The warm-up's figures.
   *
   * @param seconds from starting the child JVM until the service reported the warm-up done
   * @param inServiceSeconds the same from the service's start, its own {@code
   *     activity_cache_warmup_seconds}
   * @param accounts accounts whose window the warm-up kept
   * @param accountsPlanned accounts with rows in the window
   * @param bytes the estimated bytes the warm-up kept
   * @param coldAfterWarmupMs per account ({@code acct-0}, the largest, and the median one), its
   *     first request after the warm-up, in milliseconds rounded to 0.1
   * @param misses the cache misses of the restarted service after those requests
   */
  record Result(
      double seconds,
      double inServiceSeconds,
      long accounts,
      long accountsPlanned,
      long bytes,
      ObjectNode coldAfterWarmupMs,
      long misses) {}

  private QueryWarmup() {}

  /**
   * Measures the {@code service} on {@code port} (its log at {@code log}), started at {@code
   * restart} ({@link System#nanoTime}) with the warm-up on.
   */
  static Result measure(
      int port, Process service, Path log, long restart, Map<Integer, String> secrets, int accounts)
      throws Exception {
    Map<String, Double> warmed = awaitWarmup(port, service, log);
    double warmupSeconds = (System.nanoTime() - restart) / 1e9;
    BenchSupport.awaitReady("activity-query", port, service, log);
    ObjectNode coldAfterWarmup = JSON.createObjectNode();
    for (int a : new int[] {0, accounts / 2}) {
      coldAfterWarmup.put(
          ActivityFixture.accountId(a),
          round1(ActivityClient.timedGet(port, secrets.get(a), "/api/v1/activity")));
    }
    Map<String, Double> afterWarmup = ActivityClient.scrape(port);
    Result result =
        new Result(
            warmupSeconds,
            warmed.get("activity_cache_warmup_seconds"),
            Math.round(warmed.get("activity_cache_warmup_accounts{progress=\"loaded\"}")),
            Math.round(warmed.get("activity_cache_warmup_accounts{progress=\"planned\"}")),
            Math.round(warmed.get("activity_cache_warmup_bytes")),
            coldAfterWarmup,
            Math.round(
                afterWarmup.getOrDefault(
                    ActivityClient.CACHE_ANSWERS + "_count{result=\"miss\"}", 0.0)));
    log(
        String.format(
            "warm-up: %.1f s from the restart, %s of %s accounts, %s bytes; first requests then: %s",
            result.seconds(),
            result.accounts(),
            result.accountsPlanned(),
            result.bytes(),
            coldAfterWarmup));
    return result;
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
        Map<String, Double> metrics = ActivityClient.scrape(port);
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
}
