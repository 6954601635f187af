package io.tallyhouse.bench;

import java.util.Arrays;

/** Request latencies of one phase; used from one thread (the load generator's event loop). */
final class LatencyRecorder {

  private long[] nanos = new long[1 << 16];
  private int count;

  void record(long latencyNanos) {
    if (count == nanos.length) {
      nanos = Arrays.copyOf(nanos, count * 2);
    }
    nanos[count++] = latencyNanos;
  }

  int count() {
    return count;
  }

  /** The latency at {@code quantile} (0..1) in milliseconds, by the nearest-rank method. */
  double percentileMillis(double quantile) {
    if (count == 0) {
      return Double.NaN;
    }
    long[] sorted = Arrays.copyOf(nanos, count);
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(quantile * count) - 1;
    return sorted[Math.max(0, Math.min(count - 1, rank))] / 1e6;
  }
}
