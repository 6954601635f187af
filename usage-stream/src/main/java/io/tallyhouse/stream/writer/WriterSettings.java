package io.tallyhouse.stream.writer;

import java.time.Duration;

/**
 * How the ClickHouse writer batches and commits.
 *
 * @param batchRows a batch closes once it holds this many records ({@code WRITER_BATCH_ROWS})
 * @param maxWait or this long after its first record ({@code WRITER_MAX_WAIT_MS})
 * @param commitTimeout how long the writer waits for its offset commit; past it, it replaces its
 *     consumer and resumes from the last committed offsets ({@code WRITER_COMMIT_TIMEOUT_MS})
 */
public record WriterSettings(int batchRows, Duration maxWait, Duration commitTimeout) {}
