package io.tallyhouse.stream.writer;

/** The writer's sense of elapsed time: how long a batch has waited, how long to back off. */
public interface Ticker {

  /** A monotonic time in nanoseconds. */
  long nanoTime();

  /** Waits {@code millis}. */
  void sleep(long millis) throws InterruptedException;

  Ticker SYSTEM =
      new Ticker() {
        @Override
        public long nanoTime() {
          return System.nanoTime();
        }

        @Override
        public void sleep(long millis) throws InterruptedException {
          Thread.sleep(millis);
        }
      };
}
