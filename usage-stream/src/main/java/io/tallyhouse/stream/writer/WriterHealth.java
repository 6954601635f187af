package io.tallyhouse.stream.writer;

/**
 * What the ClickHouse writer reports about itself: readiness and the counters behind its metrics.
 */
public final class WriterHealth {

  private volatile boolean healthy = true;
  // From a failure until the new consumer has its partitions.
  private volatile boolean recovering;
  private volatile long rowsWritten;
  private volatile long insertFailures;
  private volatile long partitionsWithDeletedRecords;
  private volatile long restarts;
  private volatile int assignedPartitions;
  private volatile long commitsAbandoned;

  /** Whether the last insert (or migration) succeeded and no failure is being recovered from. */
  public boolean ok() {
    return healthy && !recovering;
  }

  public long rowsWritten() {
    return rowsWritten;
  }

  public long insertFailures() {
    return insertFailures;
  }

  /** How many times a partition's next records had been deleted before the writer read them. */
  public long partitionsWithDeletedRecords() {
    return partitionsWithDeletedRecords;
  }

  /** How many times the writer replaced its consumer after a failure. */
  public long restarts() {
    return restarts;
  }

  /**
   * How many partitions the writer's consumer holds: 0 while it has none (starting, being replaced,
   * or given none by a rebalance).
   */
  public int assignedPartitions() {
    return assignedPartitions;
  }

  /**
   * How many times the consumer refused a batch's commit because it was no longer an active member
   * of its group (a rebalance, or the broker gone): the batch is read and inserted again by whoever
   * holds its partitions next.
   */
  public long commitsAbandoned() {
    return commitsAbandoned;
  }

  void commitAbandoned() {
    commitsAbandoned++;
  }

  void assignedPartitions(int count) {
    assignedPartitions = count;
  }

  void healthy(boolean healthy) {
    this.healthy = healthy;
  }

  boolean recovering() {
    return recovering;
  }

  void recovering(boolean recovering) {
    this.recovering = recovering;
  }

  void written(long rows) {
    rowsWritten += rows;
    healthy = true;
  }

  void insertFailed() {
    insertFailures++;
    healthy = false;
  }

  void recordsDeleted(int partitions) {
    partitionsWithDeletedRecords += partitions;
    healthy = false;
  }

  void restarted() {
    restarts++;
    recovering = true;
  }
}
