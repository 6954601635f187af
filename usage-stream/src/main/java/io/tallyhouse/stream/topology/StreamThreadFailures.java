package io.tallyhouse.stream.topology;

import io.tallyhouse.schemas.registry.SchemaRegistryException;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens when a stream thread fails: it is replaced. A failed transaction is aborted and its
 * records are read again by the new thread: nothing is lost or counted twice, and a passing outage
 * (registry, broker) heals by itself. Under exactly_once_v2 the failed thread closes its tasks
 * dirty and their stores are restored from the changelogs, so a registry that stays unusable is
 * retried after a growing pause instead of in a loop.
 */
public final class StreamThreadFailures implements StreamsUncaughtExceptionHandler {

  private static final Logger LOG = LoggerFactory.getLogger(StreamThreadFailures.class);

  private final String registryUrl;
  private final LongAdder failures = new LongAdder();
  private final RegistryBackoff registryBackoff = new RegistryBackoff();

  public StreamThreadFailures(String registryUrl) {
    this.registryUrl = registryUrl;
  }

  /** Stream threads that failed and were replaced since the start. */
  public long count() {
    return failures.sum();
  }

  @Override
  public StreamThreadExceptionResponse handle(Throwable e) {
    failures.increment();
    SchemaRegistryException trouble = registryCause(e);
    if (trouble == null) {
      LOG.error("usage-stream topology failed", e);
      return StreamThreadExceptionResponse.REPLACE_THREAD;
    }
    Duration pause = registryBackoff.next();
    LOG.error(
        "usage-stream cannot read events: the schema registry at {} cannot be used ({}); /health/ready fails, "
            + "nothing is dead-lettered for it, and the record is read again in {} s",
        registryUrl,
        trouble.getMessage(),
        pause.toSeconds());
    try {
      Thread.sleep(pause.toMillis());
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
    return StreamThreadExceptionResponse.REPLACE_THREAD;
  }

  private static SchemaRegistryException registryCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SchemaRegistryException registry) {
        return registry;
      }
    }
    return null;
  }

  /**
   * 1 s doubling to 16 s while the registry stays unusable; back to 1 s once it was quiet for five
   * minutes.
   */
  static final class RegistryBackoff {
    private static final Duration FIRST = Duration.ofSeconds(1);
    private static final Duration LONGEST = Duration.ofSeconds(16);
    private static final Duration QUIET = Duration.ofMinutes(5);
    private Duration current = Duration.ZERO;
    private long lastNanos;

    synchronized Duration next() {
      long now = System.nanoTime();
      boolean quiet = current.isZero() || now - lastNanos > QUIET.toNanos();
      current =
          quiet
              ? FIRST
              : current.multipliedBy(2).compareTo(LONGEST) > 0 ? LONGEST : current.multipliedBy(2);
      lastNanos = now;
      return current;
    }
  }
}
