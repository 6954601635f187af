package io.tallyhouse.common.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventLoopWatchdogTest {

  @Test
  void aBlockedLoopIsReportedUntilItRunsAgain() throws Exception {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    CountDownLatch release = new CountDownLatch(1);
    try {
      EventLoopWatchdog watchdog = EventLoopWatchdog.start(vertx, Duration.ofSeconds(2));
      assertEquals(Optional.empty(), watchdog.problem());
      EventExecutor loop = ((VertxInternal) vertx).nettyEventLoopGroup().iterator().next();
      loop.execute(
          () -> {
            try {
              release.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      String problem = awaitProblem(watchdog, true).orElseThrow();
      assertTrue(problem.startsWith("event loop 0 of 2 has been blocked for "), problem);
      release.countDown();
      assertEquals(Optional.empty(), awaitProblem(watchdog, false));
    } finally {
      release.countDown();
      vertx.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void allReportsTheFirstProblem() {
    Liveness fine = Optional::empty;
    assertEquals(Optional.empty(), Liveness.all(fine, fine).problem());
    assertEquals(
        Optional.of("b"),
        Liveness.all(fine, () -> Optional.of("b"), () -> Optional.of("c")).problem());
  }

  private static Optional<String> awaitProblem(EventLoopWatchdog watchdog, boolean present)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (watchdog.problem().isPresent() != present) {
      assertTrue(System.nanoTime() < deadline, "the watchdog never changed its answer");
      Thread.sleep(100);
    }
    return watchdog.problem();
  }
}
