package io.tallyhouse.query.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Callers of one key share the running computation; other keys and later calls compute their own.
 */
class SingleFlightTest {

  private final SingleFlight<String, Integer> flight = new SingleFlight<>();
  private final AtomicInteger computed = new AtomicInteger();

  @Test
  void aCallerWhileOneRunsWaitsForItsResult() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    CompletableFuture<Integer> first =
        CompletableFuture.supplyAsync(
            () ->
                flight.get(
                    "acme",
                    () -> {
                      started.countDown();
                      await(release);
                      return computed.incrementAndGet();
                    }));
    assertEquals(true, started.await(1, TimeUnit.MINUTES));
    CompletableFuture<Integer> second = new CompletableFuture<>();
    Thread joiner =
        new Thread(() -> second.complete(flight.get("acme", computed::incrementAndGet)));
    joiner.start();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (joiner.getState() != Thread.State.WAITING) { // until it parks on the running computation
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the second caller neither waited nor finished");
      }
      Thread.onSpinWait();
    }
    release.countDown();
    assertEquals(1, first.get(1, TimeUnit.MINUTES));
    assertEquals(1, second.get(1, TimeUnit.MINUTES));
    assertEquals(1, computed.get(), "computed once for both");
    assertEquals(2, flight.get("acme", computed::incrementAndGet), "a later call computes again");
    assertEquals(3, flight.get("beta", computed::incrementAndGet));
  }

  @Test
  void aFailureReachesTheCallerAndTheNextCallComputesAfresh() {
    assertThrows(
        IllegalStateException.class,
        () ->
            flight.get(
                "acme",
                () -> {
                  throw new IllegalStateException("ClickHouse down");
                }));
    assertEquals(1, flight.get("acme", computed::incrementAndGet));
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(1, TimeUnit.MINUTES)) {
        throw new CompletionException(new AssertionError("not released"));
      }
    } catch (InterruptedException e) {
      throw new CompletionException(e);
    }
  }
}
