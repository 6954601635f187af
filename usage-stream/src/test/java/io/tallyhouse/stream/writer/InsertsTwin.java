package io.tallyhouse.stream.writer;

import io.tallyhouse.common.clickhouse.ClickHouseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * ClickHouse's inserts as the writer's unit tests see them: every attempt recorded, failures on
 * demand.
 */
final class InsertsTwin implements TableInserts {

  /**
   * One insert attempt: its rows (one string per row), whether it failed, and what had been
   * committed before it.
   */
  record Attempt(
      String table,
      List<String> rows,
      boolean failed,
      long atNanos,
      Map<?, Long> committedBefore) {}

  private final Ticker ticker;
  private final Supplier<Map<?, Long>> committed;
  private final List<Attempt> attempts = new ArrayList<>();
  private final Map<String, Integer> failuresLeft = new HashMap<>();
  private final Map<String, Hold> holds = new HashMap<>();

  /**
   * Holds an insert: it waits until {@link #release} (an interrupt ends it as a failure, as it ends
   * the real client's wait); its attempt is recorded when it returns.
   */
  static final class Hold {
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);

    /** Waits until the held insert has begun. */
    void awaitEntered(Duration wait) throws InterruptedException {
      if (!entered.await(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("no insert was held within " + wait);
      }
    }

    void release() {
      released.countDown();
    }
  }

  InsertsTwin(Ticker ticker, Supplier<Map<?, Long>> committed) {
    this.ticker = ticker;
    this.committed = committed;
  }

  /** The next {@code times} inserts into {@code table} fail as an unreachable ClickHouse would. */
  synchronized void failNext(String table, int times) {
    failuresLeft.put(table, times);
  }

  /** Holds the next insert into {@code table}. */
  synchronized Hold holdNext(String table) {
    Hold hold = new Hold();
    holds.put(table, hold);
    return hold;
  }

  @Override
  public void insert(String table, List<String> columns, InputStream tabSeparatedRows) {
    String text;
    try {
      text = new String(tabSeparatedRows.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> rows = text.isEmpty() ? List.of() : Arrays.asList(text.split("\n"));
    long atNanos = ticker.nanoTime();
    Map<?, Long> committedBefore = committed.get();
    Hold hold;
    synchronized (this) {
      hold = holds.remove(table);
    }
    if (hold != null) {
      hold.entered.countDown();
      try {
        hold.released.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        synchronized (this) {
          attempts.add(new Attempt(table, rows, true, atNanos, committedBefore));
        }
        throw new ClickHouseException("interrupted (twin)", e);
      }
    }
    synchronized (this) {
      int left = failuresLeft.getOrDefault(table, 0);
      attempts.add(new Attempt(table, rows, left > 0, atNanos, committedBefore));
      if (left > 0) {
        failuresLeft.put(table, left - 1);
        throw new ClickHouseException("connection refused (twin)", null);
      }
    }
  }

  synchronized List<Attempt> attempts(String table) {
    return attempts.stream().filter(a -> a.table().equals(table)).toList();
  }

  /** The rows of the successful inserts into {@code table}, in insert order. */
  synchronized List<String> inserted(String table) {
    return attempts(table).stream()
        .filter(a -> !a.failed())
        .flatMap(a -> a.rows().stream())
        .toList();
  }
}
