package io.tallyhouse.stream.maintenance;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retention of usage_events, the raw table: every hour drops the day partitions older than
 * RAW_RETENTION_DAYS (ClickHouse 18.16 has no TTL); a failed attempt is repeated a minute later.
 */
public final class RawRetention implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(RawRetention.class);
  private static final Duration EVERY = Duration.ofHours(1);
  private static final Duration AFTER_FAILURE = Duration.ofMinutes(1);

  private final ClickHouse clickHouse;
  private final int retentionDays;
  private final Clock clock;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          task -> {
            Thread thread = new Thread(task, "raw-retention");
            thread.setDaemon(true);
            return thread;
          });

  public RawRetention(ClickHouse clickHouse, int retentionDays, Clock clock) {
    this.clickHouse = clickHouse;
    this.retentionDays = retentionDays;
    this.clock = clock;
  }

  /** Drops the old partitions now, then every hour. */
  public void start() {
    scheduler.execute(this::dropOldPartitions);
  }

  private void dropOldPartitions() {
    Duration next = EVERY;
    try {
      dropPartitionsBefore(clickHouse, LocalDate.now(clock).minusDays(retentionDays - 1L));
    } catch (ClickHouseException e) {
      LOG.warn("retention of usage_events failed, retrying later: {}", e.getMessage());
      next = AFTER_FAILURE;
    } catch (RuntimeException e) {
      LOG.error("retention of usage_events failed, retrying later", e);
      next = AFTER_FAILURE;
    }
    if (!scheduler.isShutdown()) {
      scheduler.schedule(this::dropOldPartitions, next.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Drops every usage_events partition of a day before {@code firstKept}; returns the days dropped.
   * In the cluster layout (read from the database, as migrate recorded it) the partitions are those
   * of every shard's usage_events_local, dropped ON CLUSTER.
   */
  public static List<LocalDate> dropPartitionsBefore(ClickHouse clickHouse, LocalDate firstKept) {
    SchemaLayout layout = SchemaVersion.require(clickHouse);
    String table = layout.localTable("usage_events");
    List<LocalDate> dropped = new ArrayList<>();
    for (var row :
        clickHouse.query(
            "SELECT DISTINCT partition_id, toString(min_date) AS day FROM "
                + layout.everyShard("parts")
                + " WHERE active AND database = "
                + SqlLiteral.string(clickHouse.database())
                + " AND table = "
                + SqlLiteral.string(table)
                + " AND max_date < "
                + SqlLiteral.date(firstKept))) {
      clickHouse.execute(
          "ALTER TABLE "
              + clickHouse.database()
              + "."
              + table
              + layout.onCluster()
              + " DROP PARTITION ID "
              + SqlLiteral.string(row.get("partition_id").asText()));
      dropped.add(LocalDate.parse(row.get("day").asText()));
    }
    if (!dropped.isEmpty()) {
      LOG.info("usage_events retention: dropped the partitions of {}", dropped);
    }
    return dropped;
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
