package io.tallyhouse.stream.writer;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.stream.rows.UsageDailyRow;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The rows of one batch, per table: usage_events, api_key_hashes, workspaces and usage_daily, in
 * TabSeparated.
 */
final class BatchRows {

  private static final byte[] DEFAULT_WORKSPACE =
      Workspaces.DEFAULT.getBytes(StandardCharsets.UTF_8);

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

  /** Per (group, shard), the batch's newest totals: older versions would lose to them anyway. */
  private final NewestVersions newest = new NewestVersions(1 << 15);

  // Many rollups share an (account, api key) and an (account, workspace); each pair is written
  // once.
  private final PairSet keyPairs = new PairSet();
  private final PairSet workspacePairs = new PairSet();

  /** Where the fields of the group key being rendered end (GroupKey.appendFields). */
  private final int[] fieldEnds = new int[GroupKey.FIELDS_WITH_WORKSPACE];

  /**
   * Renders {@code records}: a record of a rollups topic in {@code shardBases} becomes its group's
   * usage_daily row (the newest version per group and shard only), any other record is a distinct
   * event's row as it is.
   */
  void fill(
      List<ConsumerRecord<byte[], byte[]>> records,
      Map<String, Integer> shardBases,
      String updatedAt) {
    newest.clear();
    events.clear();
    eventRows = 0;
    // A poll returns records partition by partition, each naming its topic with the consumer's
    // String for it: the shard base is looked up when that reference changes (another String of the
    // same name is only looked up again).
    String topic = null;
    Integer shardBase = null;
    for (ConsumerRecord<byte[], byte[]> record : records) {
      if (record.topic() != topic) {
        topic = record.topic();
        shardBase = shardBases.get(topic);
      }
      if (shardBase != null) {
        if (record.value() != null) {
          newest.offer(record.key(), shardBase + record.partition(), record.value());
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
    keyPairs.clear();
    workspacePairs.clear();
    for (int i = 0; i < newest.size(); i++) {
      byte[] group = newest.key(i);
      int fields =
          UsageDailyRow.appendRow(
              rollups, group, fieldEnds, newest.shard(i), newest.value(i), updatedAt);
      int accountTo = fieldEnds[GroupKey.ACCOUNT];
      int keyFrom = GroupKey.fieldStart(fieldEnds, GroupKey.API_KEY);
      int keyTo = fieldEnds[GroupKey.API_KEY];
      if (keyPairs.add(group, GroupKey.PREFIX, accountTo, group, keyFrom, keyTo)) {
        UsageDailyRow.appendPairRow(
            apiKeys, group, GroupKey.PREFIX, accountTo, group, keyFrom, keyTo);
      }
      // The workspaces table holds the id as shown: default for a key of eight fields.
      byte[] workspace = fields == GroupKey.FIELDS ? DEFAULT_WORKSPACE : group;
      int workspaceFrom =
          fields == GroupKey.FIELDS ? 0 : GroupKey.fieldStart(fieldEnds, GroupKey.WORKSPACE);
      int workspaceTo =
          fields == GroupKey.FIELDS ? workspace.length : fieldEnds[GroupKey.WORKSPACE];
      if (workspacePairs.add(
          group, GroupKey.PREFIX, accountTo, workspace, workspaceFrom, workspaceTo)) {
        UsageDailyRow.appendPairRow(
            workspaces, group, GroupKey.PREFIX, accountTo, workspace, workspaceFrom, workspaceTo);
      }
    }
    rollupRows = newest.size();
    apiKeyRows = keyPairs.size();
    workspaceRows = workspacePairs.size();
  }
}
