package io.tallyhouse.common.http;

import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Liveness of a Vert.x instance's event loops: each loop records a heartbeat every second, and a
 * loop whose last heartbeat is older than the bound is blocked (a handler that never returns), not
 * merely slow.
 */
public final class EventLoopWatchdog implements Liveness {

  /**
   * Far above what CPU starvation or a GC pause delays a runnable thread by (Vert.x itself warns
   * after 2 s), so a loaded process is never restarted for being slow.
   */
  public static final Duration DEFAULT_BOUND = Duration.ofSeconds(10);

  private static final long BEAT_MILLIS = 1000;

  private final List<AtomicLong> beats = new ArrayList<>();
  private final long boundNanos;

  private EventLoopWatchdog(Duration bound) {
    this.boundNanos = bound.toNanos();
  }

  /**
   * Starts a heartbeat on every event loop of {@code vertx}; it ends when {@code vertx} is closed.
   */
  public static EventLoopWatchdog start(Vertx vertx, Duration bound) {
    EventLoopWatchdog watchdog = new EventLoopWatchdog(bound);
    // Vert.x's public API gives no handle on each of its loops; its netty group does.
    for (EventExecutor loop : ((VertxInternal) vertx).nettyEventLoopGroup()) {
      AtomicLong beat = new AtomicLong(System.nanoTime());
      watchdog.beats.add(beat);
      loop.scheduleAtFixedRate(
          () -> beat.set(System.nanoTime()), BEAT_MILLIS, BEAT_MILLIS, TimeUnit.MILLISECONDS);
    }
    return watchdog;
  }

  public static EventLoopWatchdog start(Vertx vertx) {
    return start(vertx, DEFAULT_BOUND);
  }

  @Override
  public Optional<String> problem() {
    long now = System.nanoTime();
    for (int i = 0; i < beats.size(); i++) {
      long silent = now - beats.get(i).get();
      if (silent > boundNanos) {
        return Optional.of(
            "event loop "
                + i
                + " of "
                + beats.size()
                + " has been blocked for "
                + TimeUnit.NANOSECONDS.toSeconds(silent)
                + " s (bound "
                + TimeUnit.NANOSECONDS.toSeconds(boundNanos)
                + " s)");
      }
    }
    return Optional.empty();
  }
}
