package io.tallyhouse.stream.writer;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.stream.rows.UsageDailyRow;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Bytes;

/**
 * The rows of one batch, per table: usage_events, api_key_hashes, workspaces and usage_daily, in
 * TabSeparated.
 */
final class BatchRows {

  // Kept from batch to batch: buffers of megabytes allocated anew for every batch are humongous
  // objects to G1.
  final TabSeparated events = new TabSeparated(1 << 16);
  final TabSeparated rollups = new TabSeparated(1 << 16);
  final TabSeparated apiKeys = new TabSeparated(1 << 12);
  final TabSeparated workspaces = new TabSeparated(1 << 10);
  int eventRows;

  /**
   * The {@code received_at} (epoch microseconds) of each of the {@link #eventRows} events, -1 for a
   * row that carries none; what freshness is measured from.
   */
  long[] receivedAtMicros = new long[1024];

  int rollupRows;
  int apiKeyRows;
  int workspaceRows;

  /**
   * Renders {@code records}: a record of a rollups topic in {@code shardBases} becomes its group's
   * usage_daily row (the newest version per group and shard only), any other record is a distinct
   * event's row as it is.
   */
  void fill(
      List<ConsumerRecord<byte[], byte[]>> records,
      Map<String, Integer> shardBases,
      String updatedAt) {
    // Within a batch only the newest totals of a group and shard matter; older versions would lose
    // to them anyway.
    Map<Shard, GroupTotals> latest = new HashMap<>();
    events.clear();
    eventRows = 0;
    for (ConsumerRecord<byte[], byte[]> record : records) {
      Integer shardBase = shardBases.get(record.topic());
      if (shardBase != null) {
        if (record.value() != null) {
          latest.merge(
              new Shard(Bytes.wrap(record.key()), shardBase + record.partition()),
              GroupTotals.fromBytes(record.value()),
              (a, b) -> a.version() >= b.version() ? a : b);
        }
      } else {
        // The distinct events topic holds each event's row, already in TabSeparated.
        byte[] row = record.value();
        if (row == null || row.length == 0 || row[row.length - 1] != '\n') {
          // Inserting it would glue it to the next row; stopping here keeps the backlog intact in
          // Kafka.
          throw new IllegalStateException(
              "distinct events topic record "
                  + record.topic()
                  + "/"
                  + record.partition()
                  + "@"
                  + record.offset()
                  + " is not a TabSeparated row (written by an older"
                  + " usage-stream?)");
        }
        row = DistinctEventRow.withWorkspace(row);
        events.rows(row);
        if (eventRows == receivedAtMicros.length) {
          receivedAtMicros = Arrays.copyOf(receivedAtMicros, eventRows * 2);
        }
        receivedAtMicros[eventRows++] = DistinctEventRow.receivedAtMicros(row);
      }
    }
    rollups.clear();
    apiKeys.clear();
    workspaces.clear();
    // Many rollups share an (account, api key) and an (account, workspace); each pair is written
    // once.
    Set<Bytes> keyPairs = new HashSet<>();
    Set<Bytes> workspacePairs = new HashSet<>();
    for (Map.Entry<Shard, GroupTotals> rollup : latest.entrySet()) {
      byte[] group = rollup.getKey().group().get();
      UsageDailyRow.appendRow(
          rollups, group, rollup.getKey().shard(), rollup.getValue(), updatedAt);
      byte[] keyPair = GroupKey.apiKeyPair(group);
      if (keyPairs.add(Bytes.wrap(keyPair))) {
        UsageDailyRow.appendPairRow(apiKeys, keyPair);
      }
      byte[] workspacePair = GroupKey.workspacePair(group);
      if (workspacePairs.add(Bytes.wrap(workspacePair))) {
        UsageDailyRow.appendPairRow(workspaces, workspacePair);
      }
    }
    rollupRows = latest.size();
    apiKeyRows = keyPairs.size();
    workspaceRows = workspacePairs.size();
  }

  /**
   * A group as counted by the task of one partition of the events topic in one generation: the
   * usage_daily row's shard, the generation's shard base plus the partition.
   */
  private record Shard(Bytes group, int shard) {}
}
