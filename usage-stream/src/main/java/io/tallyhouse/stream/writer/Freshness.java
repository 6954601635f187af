package io.tallyhouse.stream.writer;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * How long events take from gateway-ingest to ClickHouse: for each event whose {@code usage_events}
 * row the writer has just inserted (in the same successful batch insert as the rollup rows it read
 * with it), now minus the event's {@code received_at}. {@code stream_freshness_seconds} (histogram)
 * and {@code stream_freshness_last_seconds} (the largest of the last batch). What it includes and
 * excludes: usage-stream/DESIGN.md, "Freshness".
 */
public final class Freshness {

  /** The histogram's upper bounds, from a healthy pipeline (about a second) to an hour behind. */
  static final Duration[] BUCKETS = {
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofSeconds(2),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
    Duration.ofMinutes(1),
    Duration.ofMinutes(2),
    Duration.ofMinutes(5),
    Duration.ofMinutes(15),
    Duration.ofHours(1)
  };

  private final Timer timer;
  private volatile double lastSeconds = Double.NaN;

  public Freshness(MeterRegistry metrics) {
    timer =
        Timer.builder("stream_freshness")
            .description(
                "per event, from its received_at (stamped by gateway-ingest) to the writer's"
                    + " successful insert of its row into ClickHouse")
            .serviceLevelObjectives(BUCKETS)
            .register(metrics);
    Gauge.builder("stream_freshness_last_seconds", this, f -> f.lastSeconds)
        .description("the largest freshness of the last batch the writer inserted (NaN before one)")
        .register(metrics);
  }

  /**
   * Records the events of a batch that became visible at {@code nowMicros}: the first {@code count}
   * of {@code receivedAtMicros} (-1: unknown, skipped). A clock behind the ingest host's counts as
   * 0, never as a negative age.
   */
  void visible(long nowMicros, long[] receivedAtMicros, int count) {
    long oldest = -1;
    for (int i = 0; i < count; i++) {
      long receivedAt = receivedAtMicros[i];
      if (receivedAt < 0) {
        continue;
      }
      long age = Math.max(0, nowMicros - receivedAt);
      timer.record(age, TimeUnit.MICROSECONDS);
      oldest = Math.max(oldest, age);
    }
    if (oldest >= 0) {
      lastSeconds = oldest / 1e6;
    }
  }
}
