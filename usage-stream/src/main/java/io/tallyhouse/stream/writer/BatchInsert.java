package io.tallyhouse.stream.writer;

import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.stream.rows.UsageDailyRow;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Inserts one batch's rows, usage_events on a thread of its own while api_key_hashes, workspaces
 * and usage_daily go in on the calling one: ClickHouse parses them on two cores, and the batch
 * takes as long as the longer of the two instead of their sum. Remembers what went in, so that
 * after a failure only what did not succeed is repeated (each insert is idempotent, DESIGN.md).
 */
final class BatchInsert implements AutoCloseable {

  private final TableInserts inserts;
  private final ExecutorService eventsInserter =
      Executors.newSingleThreadExecutor(
          task -> {
            Thread inserter = new Thread(task, "clickhouse-writer-events");
            inserter.setDaemon(true);
            return inserter;
          });
  private BatchRows rows;
  private boolean eventsDone;
  private boolean apiKeysDone;
  private boolean workspacesDone;
  private boolean rollupsDone;

  BatchInsert(TableInserts inserts) {
    this.inserts = inserts;
  }

  /** Starts on a new batch: nothing of it is in yet. */
  void begin(BatchRows rows) {
    this.rows = rows;
    eventsDone = rows.eventRows == 0;
    apiKeysDone = rows.apiKeyRows == 0;
    workspacesDone = rows.workspaceRows == 0;
    rollupsDone = rows.rollupRows == 0;
  }

  /**
   * Inserts what is not in yet; a ClickHouseException says at least one insert failed and may be
   * repeated.
   */
  void attempt() throws InterruptedException {
    Future<?> eventsInsert =
        eventsDone
            ? null
            : eventsInserter.submit(
                () ->
                    inserts.insert(
                        "usage_events", DistinctEventRow.COLUMNS, rows.events.inputStream()));
    ClickHouseException failure = null;
    try {
      // The key and workspace records before the rollups: a reader that sees a key's or a
      // workspace's rows can also find the key or the workspace.
      if (!apiKeysDone) {
        inserts.insert(
            "api_key_hashes", UsageDailyRow.API_KEY_HASH_COLUMNS, rows.apiKeys.inputStream());
        apiKeysDone = true;
      }
      if (!workspacesDone) {
        inserts.insert(
            "workspaces", UsageDailyRow.WORKSPACE_COLUMNS, rows.workspaces.inputStream());
        workspacesDone = true;
      }
      if (!rollupsDone) {
        inserts.insert("usage_daily", UsageDailyRow.COLUMNS, rows.rollups.inputStream());
        rollupsDone = true;
      }
    } catch (ClickHouseException e) {
      failure = e;
    }
    if (eventsInsert != null) {
      try {
        eventsInsert.get();
        eventsDone = true;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof ClickHouseException insertFailure)) {
          throw new IllegalStateException("inserting into usage_events failed", e.getCause());
        }
        failure = failure == null ? insertFailure : failure;
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public void close() {
    eventsInserter.shutdownNow();
  }
}
