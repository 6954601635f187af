package io.tallyhouse.testkit;

import java.time.Duration;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waiting for a condition on a machine that may be heavily loaded: slow is not stuck. A wait goes
 * on as long as the system under test makes progress, and fails only after a long time without any,
 * or after a ceiling far above what a starved machine needs.
 */
public final class Await {

  /** How long nothing may change before a wait gives up. */
  public static final Duration STALL = Duration.ofMinutes(5);

  /** The longest any wait lasts, progress or not. */
  public static final Duration CEILING = Duration.ofMinutes(30);

  private Await() {}

  /**
   * Polls {@code done} until it holds. {@code progress} is a snapshot of whatever moves while the
   * work goes on (counts, offsets, a log's length): while it keeps changing the wait continues, up
   * to {@link #CEILING}. Fails with {@code what} and the {@code report} when nothing changed for
   * {@link #STALL}.
   */
  public static void untilProgressStops(
      String what, BooleanSupplier done, Supplier<?> progress, Supplier<String> report)
      throws InterruptedException {
    long start = System.nanoTime();
    Object last = progress.get();
    long lastChange = start;
    while (!done.getAsBoolean()) {
      long now = System.nanoTime();
      Object current = progress.get();
      if (!Objects.equals(current, last)) {
        last = current;
        lastChange = now;
      }
      if (now - lastChange > STALL.toNanos() || now - start > CEILING.toNanos()) {
        throw new AssertionError(
            what
                + ": not done after "
                + Duration.ofNanos(now - start).toSeconds()
                + " s, with no"
                + " progress for "
                + Duration.ofNanos(now - lastChange).toSeconds()
                + " s (last progress: "
                + last
                + "); "
                + report.get());
      }
      Thread.sleep(200);
    }
  }

  /** Polls {@code done} until it holds, for at most {@code bound} (give it a generous one). */
  public static void until(String what, BooleanSupplier done, Duration bound)
      throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + ": not done within " + bound.toSeconds() + " s");
      }
      Thread.sleep(200);
    }
  }
}
