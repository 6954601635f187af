package io.tallyhouse.stream.writer;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Time as the writer's unit tests set it: it moves only when the writer waits (a sleep or an empty
 * poll).
 */
final class TickerTwin implements Ticker {

  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  @Override
  public void sleep(long millis) throws InterruptedException {
    advance(millis);
    // A real pause too, however short, so a waiting writer does not keep a core busy.
    Thread.sleep(1);
  }

  void advance(long millis) {
    nanos.addAndGet(millis * 1_000_000);
  }
}
