package io.tallyhouse.ingest.http;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Which requests are let in and what they hold until answered: none once the service drains for
 * shutdown, none past {@code MAX_IN_FLIGHT_BYTES} of request bytes (a request alone is always
 * admitted), so memory stays bounded and a slow Kafka turns into quick 503s instead of a queue.
 */
public final class Admission {

  private final long maxInFlightBytes;
  private final AtomicLong inFlightBytes = new AtomicLong();
  private final AtomicInteger inFlightRequests = new AtomicInteger();
  private volatile boolean draining;

  public Admission(long maxInFlightBytes) {
    this.maxInFlightBytes = maxInFlightBytes;
  }

  /** Whether the service stopped admitting requests. */
  boolean draining() {
    return draining;
  }

  /** Request bytes (decoded) admitted and not yet answered. */
  long inFlightBytes() {
    return inFlightBytes.get();
  }

  /**
   * The reservation of a request whose body has {@code bodyBytes}, or null when it would exceed the
   * limit.
   */
  Reservation admit(long bodyBytes) {
    Reservation reservation = new Reservation();
    if (!reservation.take(bodyBytes)) {
      return null;
    }
    inFlightRequests.incrementAndGet();
    return reservation;
  }

  /**
   * Stops admitting, then waits up to {@code timeout} for the requests in flight to be answered.
   */
  public void drain(Duration timeout) {
    draining = true;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (inFlightRequests.get() > 0 && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * One request's bytes held against the limit: the body as received, then, for gzip, its decoded
   * bytes as they are inflated (a small body that inflates to megabytes holds megabytes). Used by
   * one thread at a time (the event loop, a worker, the event loop again).
   */
  final class Reservation {
    private long held;

    private Reservation() {}

    /**
     * Holds {@code bytes} more, or nothing and false past the limit; a request alone is always
     * admitted.
     */
    boolean take(long bytes) {
      long inFlight = inFlightBytes.addAndGet(bytes);
      if (inFlight > maxInFlightBytes && inFlight != held + bytes) {
        inFlightBytes.addAndGet(-bytes);
        return false;
      }
      held += bytes;
      return true;
    }

    /** The request is answered: its bytes are free again. */
    void release() {
      inFlightBytes.addAndGet(-held);
      held = 0;
      inFlightRequests.decrementAndGet();
    }
  }
}
