package io.tallyhouse.stream.writer;

import io.tallyhouse.common.clickhouse.ClickHouseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
  private final Set<String> toAbandon = new HashSet<>();
  private final List<InputStream> abandoned = new ArrayList<>();

  InsertsTwin(Ticker ticker, Supplier<Map<?, Long>> committed) {
    this.ticker = ticker;
    this.committed = committed;
  }

  /** The next {@code times} inserts into {@code table} fail as an unreachable ClickHouse would. */
  synchronized void failNext(String table, int times) {
    failuresLeft.put(table, times);
  }

  /**
   * The next insert into {@code table} fails without reading its rows, as a client's insert that
   * timed out while its request still streams the body: {@link #readAbandoned} reads them later.
   */
  synchronized void abandonNext(String table) {
    toAbandon.add(table);
  }

  /** The rows of the abandoned inserts' streams, read now, one string per row. */
  synchronized List<String> readAbandoned() throws IOException {
    List<String> rows = new ArrayList<>();
    for (InputStream stream : abandoned) {
      String text = new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      rows.addAll(text.isEmpty() ? List.of() : Arrays.asList(text.split("\n")));
    }
    return rows;
  }

  @Override
  public void insert(String table, List<String> columns, InputStream tabSeparatedRows) {
    synchronized (this) {
      if (toAbandon.remove(table)) {
        abandoned.add(tabSeparatedRows);
        attempts.add(new Attempt(table, List.of(), true, ticker.nanoTime(), committed.get()));
        throw new ClickHouseException("timed out (twin)", null);
      }
    }
    String text;
    try {
      text = new String(tabSeparatedRows.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> rows = text.isEmpty() ? List.of() : Arrays.asList(text.split("\n"));
    synchronized (this) {
      int left = failuresLeft.getOrDefault(table, 0);
      attempts.add(new Attempt(table, rows, left > 0, ticker.nanoTime(), committed.get()));
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
