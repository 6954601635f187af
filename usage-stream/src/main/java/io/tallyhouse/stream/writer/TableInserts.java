package io.tallyhouse.stream.writer;

import java.io.InputStream;
import java.util.List;

/**
 * Inserts rows into a table: {@code ClickHouse::insertTabSeparated} in production, a twin in the
 * writer's unit tests. A failure the writer retries is a {@link
 * io.tallyhouse.common.clickhouse.ClickHouseException}.
 */
@FunctionalInterface
public interface TableInserts {
  void insert(String table, List<String> columns, InputStream tabSeparatedRows);
}
