package io.tallyhouse.stream.maintenance;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.kafka.common.TopicPartition;

/**
 * The broker's offsets as a test sets them, for the TopologyTestDriver (which has no broker): the
 * stream's own commits are always there, the changelog's stable end is {@link #stableEnd}, and the
 * ClickHouse writer has committed {@link #writerCommitted} (by default past everything).
 */
public final class OffsetsTwin implements DayCloser.Offsets {

  public volatile long stableEnd = 0;
  public volatile long writerCommitted = Long.MAX_VALUE;

  @Override
  public Future<Long> committed(String group, TopicPartition partition) {
    return CompletableFuture.completedFuture(
        group.endsWith("-clickhouse-writer") ? writerCommitted : Long.MAX_VALUE);
  }

  @Override
  public Future<Long> stableEnd(TopicPartition partition) {
    return CompletableFuture.completedFuture(stableEnd);
  }
}
