package io.tallyhouse.stream.writer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.rows.DistinctEventRow;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The rows a batch renders, pinned byte for byte: the expected files under {@code batch-rows/} are
 * the output of the writer as it was before its rendering was made cheaper, for a batch of varied
 * records (default and other workspaces, non-ASCII, backslashes and other escaped characters,
 * superseded versions, one group in two shards and two generations, tombstones, both topics mixed,
 * a distinct event row of the build before workspaces). usage_events rows keep the records' order;
 * the other tables' rows are compared as sorted lines, since ClickHouse does not care about the
 * order of rows in one insert and no two of them share a sorting key.
 */
class BatchRowsTest {

  static final String DISTINCT = "distinct-events";
  static final Map<String, Integer> SHARD_BASES = Map.of("rollups-a", 0, "rollups-b", 64);
  static final String UPDATED_AT = "2026-11-30 12:00:00";

  @Test
  void aVariedBatchRendersExactlyThePinnedRows() {
    BatchRows rows = new BatchRows();
    rows.fill(variedBatch(), SHARD_BASES, UPDATED_AT);

    assertEquals(expected("usage_events.tsv"), text(rows.events.toByteArray()));
    assertEquals(expected("usage_daily.tsv"), sortedLines(rows.rollups.toByteArray()));
    assertEquals(expected("api_key_hashes.tsv"), sortedLines(rows.apiKeys.toByteArray()));
    assertEquals(expected("workspaces.tsv"), sortedLines(rows.workspaces.toByteArray()));
    assertEquals(lines(expected("usage_events.tsv")), rows.eventRows);
    assertEquals(lines(expected("usage_daily.tsv")), rows.rollupRows);
    assertEquals(lines(expected("api_key_hashes.tsv")), rows.apiKeyRows);
    assertEquals(lines(expected("workspaces.tsv")), rows.workspaceRows);
  }

  @Test
  void theNextBatchStartsFromNothing() {
    BatchRows rows = new BatchRows();
    rows.fill(variedBatch(), SHARD_BASES, UPDATED_AT);
    List<ConsumerRecord<byte[], byte[]>> one = variedBatch().subList(0, 1);
    rows.fill(one, SHARD_BASES, UPDATED_AT);
    BatchRows fresh = new BatchRows();
    fresh.fill(one, SHARD_BASES, UPDATED_AT);
    assertEquals(text(fresh.rollups.toByteArray()), text(rows.rollups.toByteArray()));
    assertEquals(text(fresh.events.toByteArray()), text(rows.events.toByteArray()));
    assertEquals(fresh.rollupRows, rows.rollupRows);
    assertEquals(fresh.apiKeyRows, rows.apiKeyRows);
    assertEquals(fresh.workspaceRows, rows.workspaceRows);
  }

  @Test
  void aRollupThatIsNotAGroupKeyOrNotTotalsStopsTheBatch() {
    byte[] totals = totals(1, 1).toBytes();
    byte[] key = key(event("acme", "u", "ops", KEY_C)).getBytes(StandardCharsets.UTF_8);
    for (byte[][] record :
        new byte[][][] {
          {"acme\u001f2026-11-20".getBytes(StandardCharsets.UTF_8), totals},
          {
            (new String(key, StandardCharsets.UTF_8) + "\u001f").getBytes(StandardCharsets.UTF_8),
            totals
          },
          {key, Arrays.copyOf(totals, totals.length - 1)},
          {key, Arrays.copyOf(totals, totals.length + 1)},
        }) {
      BatchRows rows = new BatchRows();
      assertThrows(
          IllegalArgumentException.class,
          () ->
              rows.fill(
                  List.of(new ConsumerRecord<>("rollups-a", 0, 0, record[0], record[1])),
                  SHARD_BASES,
                  UPDATED_AT));
    }
  }

  private static final String KEY_C = "c0ffee".repeat(10) + "beef";

  /**
   * About 300 records: groups of several accounts, api keys, users and workspaces, each written in
   * several versions by one or two partitions of two generations' rollups topics, in a shuffled
   * order, between distinct event rows.
   */
  static List<ConsumerRecord<byte[], byte[]>> variedBatch() {
    Random random = new Random(17);
    String[] accounts = {"acme", "beta.corp:eu-1", "zoë-gmbh"};
    String[] users = {null, "u-1", "zoë 漢字 😀", "back\\slash\\", "a\tb\nc\r\0\b\f\u0001", "\\N"};
    String[] workspaces = {"default", "ops.eu:1", "ws-ü\\x"};
    String[] apiKeys = {Events.KEY_A, Events.KEY_B, KEY_C};
    List<ConsumerRecord<byte[], byte[]>> rollups = new ArrayList<>();
    List<ConsumerRecord<byte[], byte[]>> distinct = new ArrayList<>();
    int offset = 0;
    for (String account : accounts) {
      for (String user : users) {
        for (String workspace : workspaces) {
          UsageEvent e = event(account, user, workspace, apiKeys[random.nextInt(apiKeys.length)]);
          byte[] key = key(e).getBytes(StandardCharsets.UTF_8);
          int partition = random.nextInt(6);
          String topic = random.nextInt(4) == 0 ? "rollups-b" : "rollups-a";
          int versions = 1 + random.nextInt(4);
          for (int v = 1; v <= versions; v++) {
            rollups.add(record(topic, partition, offset++, key, totals(v, random.nextInt(1000))));
          }
          if (random.nextInt(3) == 0) {
            // The same group counted by another partition: another shard, another row.
            int other = (partition + 1 + random.nextInt(5)) % 6;
            rollups.add(record(topic, other, offset++, key, totals(7, random.nextInt(1000))));
            rollups.add(record(topic, other, offset++, key, totals(3, random.nextInt(1000))));
          }
          if (random.nextInt(5) == 0) {
            rollups.add(new ConsumerRecord<>(topic, partition, offset++, key, null));
          }
          e.setEventId("e" + offset);
          distinct.add(
              new ConsumerRecord<>(DISTINCT, partition, offset++, null, DistinctEventRow.toRow(e)));
        }
      }
    }
    distinct.add(
        new ConsumerRecord<>(
            DISTINCT,
            0,
            offset++,
            null,
            rowBeforeWorkspaces(event("acme", "old", "default", KEY_C))));
    Collections.shuffle(rollups, random);
    List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(rollups);
    for (int i = 0; i < distinct.size(); i++) {
      batch.add(random.nextInt(batch.size() + 1), distinct.get(i));
    }
    return batch;
  }

  private static String key(UsageEvent e) {
    return GroupKey.of(e);
  }

  private static UsageEvent event(String account, String user, String workspace, String apiKey) {
    UsageEvent e =
        Events.event(account, "e", "2026-11-20T10:00:00.123456Z", user, "0.000043022187");
    e.setWorkspaceId(workspace);
    e.setApiKeyHash(apiKey);
    e.setReceivedAt(Instant.parse("2026-11-20T10:00:01.5Z"));
    return e;
  }

  /** Totals at {@code version} whose every column depends on {@code seed}. */
  private static GroupTotals totals(int version, int seed) {
    BigDecimal usage = new BigDecimal(seed).movePointLeft(7).setScale(Money.SCALE);
    return new GroupTotals(
        version,
        seed,
        seed * 2L,
        seed * 3L,
        seed * 4L,
        usage,
        usage.movePointRight(9),
        seed % 7,
        version);
  }

  private static ConsumerRecord<byte[], byte[]> record(
      String topic, int partition, int offset, byte[] key, GroupTotals totals) {
    return new ConsumerRecord<>(topic, partition, offset, key, totals.toBytes());
  }

  /** The event's row as the build before workspaces wrote it: without the workspace column. */
  private static byte[] rowBeforeWorkspaces(UsageEvent e) {
    String row = text(DistinctEventRow.toRow(e));
    int afterAccount = row.indexOf('\t') + 1;
    int afterWorkspace = row.indexOf('\t', afterAccount) + 1;
    return (row.substring(0, afterAccount) + row.substring(afterWorkspace))
        .getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  static String sortedLines(byte[] rows) {
    String text = text(rows);
    if (text.isEmpty()) {
      return text;
    }
    List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
    assertEquals("", lines.remove(lines.size() - 1), "rows end in a newline");
    Collections.sort(lines);
    return String.join("\n", lines) + "\n";
  }

  private static int lines(String text) {
    return (int) text.chars().filter(c -> c == '\n').count();
  }

  private static String expected(String file) {
    try (InputStream in = BatchRowsTest.class.getResourceAsStream("/batch-rows/" + file)) {
      if (in == null) {
        throw new IllegalStateException("no resource batch-rows/" + file);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
