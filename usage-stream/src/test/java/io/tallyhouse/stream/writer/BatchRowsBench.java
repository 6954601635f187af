package io.tallyhouse.stream.writer;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.rows.DistinctEventRow;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The CPU time of {@link BatchRows#fill} per record, not a test (no lane runs it): batches of
 * {@code WRITER_BATCH_ROWS} records as the benchmark's stream writes them, half distinct event rows
 * and half rollups of groups drawn at random (so some are superseded within a batch), rendered
 * again and again; prints the thread's CPU time per record of each repetition.
 *
 * <p>{@code java -cp <test classpath> io.tallyhouse.stream.writer.BatchRowsBench [records]
 * [repetitions]}
 */
final class BatchRowsBench {

  private static final int BATCH = 20_000;

  private BatchRowsBench() {}

  public static void main(String[] args) {
    int records = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    int repetitions = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    List<List<ConsumerRecord<byte[], byte[]>>> batches = batches(records, new Random(17));
    Map<String, Integer> shardBases = Map.of("rollups", 0);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    BatchRows rows = new BatchRows();
    long sink = 0;
    for (int r = 0; r < repetitions; r++) {
      long start = threads.getCurrentThreadCpuTime();
      long wallStart = System.nanoTime();
      for (List<ConsumerRecord<byte[], byte[]>> batch : batches) {
        rows.fill(batch, shardBases, "2026-11-30 12:00:00");
        sink += rows.rollups.size() + rows.events.size() + rows.apiKeyRows + rows.workspaceRows;
      }
      long nanos = threads.getCurrentThreadCpuTime() - start;
      long wall = System.nanoTime() - wallStart;
      System.out.printf(
          "repetition %d: %.3f us CPU per record, %.3f us wall (%d records)%n",
          r, nanos / 1000.0 / records, wall / 1000.0 / records, records);
    }
    System.out.println("output bytes " + sink);
  }

  private static List<List<ConsumerRecord<byte[], byte[]>>> batches(int records, Random random) {
    int groups = 40_000;
    byte[][] keys = new byte[groups][];
    int[] versions = new int[groups];
    for (int g = 0; g < groups; g++) {
      UsageEvent e =
          Events.event(
              "account-" + random.nextInt(200),
              "e",
              "2026-11-" + (20 + random.nextInt(3)) + "T10:00:00Z",
              random.nextInt(4) == 0 ? null : "user-" + random.nextInt(1_000),
              "0.000043022187");
      e.setApiKeyHash(String.format("%064x", random.nextInt(500)));
      e.setModel("openai/gpt-4o-" + random.nextInt(8));
      e.setWorkspaceId(random.nextInt(3) == 0 ? "ws-" + random.nextInt(5) : "default");
      keys[g] = GroupKey.of(e).getBytes(StandardCharsets.UTF_8);
    }
    UsageEvent event =
        Events.event("account-1", "e", "2026-11-21T10:00:00.123456Z", "user-7", "0.000043022187");
    event.setReceivedAt(Instant.parse("2026-11-21T10:00:01.5Z"));
    List<List<ConsumerRecord<byte[], byte[]>>> batches = new ArrayList<>();
    List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
    for (int i = 0; i < records; i++) {
      if (i % 2 == 0) {
        event.setEventId("event-" + i);
        batch.add(new ConsumerRecord<>("distinct", i % 6, i, null, DistinctEventRow.toRow(event)));
      } else {
        int g = random.nextInt(groups);
        int v = ++versions[g];
        GroupTotals totals = Events.totals(event);
        byte[] value =
            new GroupTotals(
                    v,
                    totals.promptTokens() * v,
                    totals.completionTokens() * v,
                    totals.reasoningTokens() * v,
                    totals.cachedTokens() * v,
                    totals.usage(),
                    totals.byokUsageInference(),
                    0,
                    v)
                .toBytes();
        batch.add(new ConsumerRecord<>("rollups", g % 6, i, keys[g], value));
      }
      if (batch.size() == BATCH) {
        batches.add(batch);
        batch = new ArrayList<>();
      }
    }
    if (!batch.isEmpty()) {
      batches.add(batch);
    }
    return batches;
  }
}
