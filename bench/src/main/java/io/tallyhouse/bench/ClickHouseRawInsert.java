package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.log;

import io.tallyhouse.common.clickhouse.ClickHouse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link StreamBench}'s last phase: ClickHouse's own insert speed for the rows the stream wrote,
 * the figure the stream's events/s is set against in its {@code ratio}.
 */
final class ClickHouseRawInsert {

  /**
   * The raw insert's figures.
   *
   * @param rows usage_events rows inserted again
   * @param nanos how long their inserts took, back to back
   */
  record Result(int rows, long nanos) {

    double rowsPerSecond() {
      return rows / (nanos / 1e9);
    }
  }

  private ClickHouseRawInsert() {}

  /**
   * Inserts the usage_events rows again into an empty copy of the table, in batches like the
   * writer's.
   */
  static Result measure(ClickHouse clickHouse) {
    clickHouse.execute("CREATE TABLE IF NOT EXISTS usage_events_copy AS usage_events");
    // The rows as ClickHouse prints them in the writer's format (TabSeparated, exact decimal
    // digits), cut into
    // batches the size of the writer's.
    List<String> columns =
        clickHouse
            .query(
                "SELECT name FROM system.columns WHERE database = currentDatabase()"
                    + " AND table = 'usage_events'")
            .stream()
            .map(row -> row.get("name").asText())
            .toList();
    byte[] all =
        clickHouse.queryTabSeparated("SELECT " + String.join(", ", columns) + " FROM usage_events");
    List<byte[]> batches = new ArrayList<>();
    int rows = 0;
    int batchStart = 0;
    int inBatch = 0;
    for (int i = 0; i < all.length; i++) {
      if (all[i] == '\n') {
        rows++;
        if (++inBatch == 20_000 || i == all.length - 1) {
          batches.add(Arrays.copyOfRange(all, batchStart, i + 1));
          batchStart = i + 1;
          inBatch = 0;
        }
      }
    }
    if (batchStart < all.length) {
      batches.add(Arrays.copyOfRange(all, batchStart, all.length));
    }
    long start = System.nanoTime();
    for (byte[] b : batches) {
      clickHouse.insertTabSeparated("usage_events_copy", columns, b);
    }
    Result result = new Result(rows, System.nanoTime() - start);
    log(
        String.format(
            "ClickHouse raw insert of the same usage_events rows: %.0f rows/s",
            result.rowsPerSecond()));
    return result;
  }
}
