package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.ingest.validation.EventValidator;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.stream.rows.UsageDailyRow;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.Ports;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

/**
 * {@code make bench-clickhouse-batches}: what the writer's batch size costs ClickHouse. On a
 * ClickHouse server of its own, for each batch size of {@code bench.batches} ({@code bench.repeats}
 * times, interleaved), on a fresh database migrated as production's: inserts {@code bench.events}
 * generated events as the writer would, {@code rows_per_insert} events per insert (their
 * usage_events rows, and the usage_daily, api_key_hashes and workspaces rows of the groups they
 * touched), then waits until no merge runs. Reports ClickHouse's CPU time per event (insert phase,
 * and the merges after it) and how many rows its merges rewrote. The last line is JSON.
 */
public final class ClickHouseBatchBench {

  /** Quiet this long (no merge in system.merges) means the merges the inserts caused are done. */
  private static final Duration SETTLED = Duration.ofSeconds(3);

  private ClickHouseBatchBench() {}

  public static void main(String[] args) throws Exception {
    int events = Integer.getInteger("bench.events", 1_000_000);
    int repeats = Integer.getInteger("bench.repeats", 2);
    int partitions = Integer.getInteger("bench.partitions", 6);
    int[] batches =
        Arrays.stream(System.getProperty("bench.batches", "5000,20000,50000").split(","))
            .mapToInt(b -> Integer.parseInt(b.trim()))
            .toArray();
    String loadBefore = BenchSupport.loadAverage();
    Path dir = Files.createTempDirectory("tallyhouse-bench-clickhouse-batches-");
    log("working in " + dir);
    ClickHouseServer server =
        ClickHouseServer.start(dir.resolve("clickhouse"), Ports.freePort(), Ports.freePort());
    // Every run gets the very same events: created within the 24 hours before this instant.
    Instant now = Instant.now();
    ArrayNode runs = JSON.createArrayNode();
    try {
      for (int repeat = 1; repeat <= repeats; repeat++) {
        for (int batch : batches) {
          String database = "batches_" + batch + "_" + repeat;
          ObjectNode run = run(server, database, batch, events, partitions, now);
          log("  " + run);
          runs.add(run);
        }
      }
    } finally {
      server.stop();
      BenchSupport.removeWorkingDirectory(dir);
    }
    ObjectNode result = JSON.createObjectNode();
    result.put("benchmark", "clickhouse_batches");
    result.set("runs", runs);
    result.put("events", events);
    result.put("partitions", partitions);
    result.put("cores", Runtime.getRuntime().availableProcessors());
    result.put("load_average_before", loadBefore);
    result.put("load_average_after", BenchSupport.loadAverage());
    BenchSupport.printResultAndExit(result);
  }

  private static ObjectNode run(
      ClickHouseServer server, String database, int batch, int events, int partitions, Instant now)
      throws Exception {
    log(String.format("%d events in inserts of %d rows into database %s", events, batch, database));
    List<ProcessHandle> clickHouseProcess = List.of(server.process());
    try (ClickHouse clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                server.httpUrl(),
                server.user(),
                server.password(),
                database,
                Duration.ofMinutes(2)))) {
      Migrations.apply(clickHouse);
      awaitNoMerges(clickHouse);
      ClickHouseCounters countersBefore = ClickHouseCounters.read(clickHouse);
      long cpuBefore = StreamBench.cpuNanos(clickHouseProcess)[0];
      long start = System.nanoTime();
      insertAll(clickHouse, batch, events, partitions, now);
      long insertNanos = System.nanoTime() - start;
      long cpuInserted = StreamBench.cpuNanos(clickHouseProcess)[0];
      awaitNoMerges(clickHouse);
      long cpuSettled = StreamBench.cpuNanos(clickHouseProcess)[0];
      ClickHouseCounters fed = ClickHouseCounters.read(clickHouse).since(countersBefore);

      ObjectNode run = JSON.createObjectNode();
      run.put("rows_per_insert", batch);
      run.put("cpu_us_per_event", microsPerEvent(cpuSettled - cpuBefore, events));
      run.put("insert_phase_cpu_us_per_event", microsPerEvent(cpuInserted - cpuBefore, events));
      run.put("merges_after_cpu_us_per_event", microsPerEvent(cpuSettled - cpuInserted, events));
      run.put("merged_rows_per_inserted_row", fed.mergedRowsPerInsertedRow());
      run.put("insert_queries", fed.insertQueries());
      run.put("inserted_rows", fed.insertedRows());
      run.put("insert_phase_s", BenchSupport.round1(insertNanos / 1e9));
      run.put(
          "merges_after_s", BenchSupport.round1((System.nanoTime() - start - insertNanos) / 1e9));
      ObjectNode parts = run.putObject("parts_left");
      for (JsonNode table :
          clickHouse.querySystem(
              "SELECT table, count() AS parts FROM system.parts WHERE active AND database = "
                  + SqlLiteral.string(database)
                  + " GROUP BY table ORDER BY table")) {
        parts.put(table.get("table").asText(), table.get("parts").asLong());
      }
      run.put("load_average_after", BenchSupport.loadAverage());
      clickHouse.executeOutsideDatabase("DROP DATABASE " + SqlLiteral.identifier(database));
      return run;
    }
  }

  /**
   * Generates the events (the same for every run) and inserts them {@code batch} at a time, each
   * table's rows with the columns and the insert the writer uses (sequentially, where the writer
   * sends usage_events on a connection of its own: the same statements and rows).
   */
  private static void insertAll(
      ClickHouse clickHouse, int batch, int events, int partitions, Instant now) {
    Random random = new Random(3);
    EventValidator validator =
        new EventValidator(Clock.fixed(now, ZoneOffset.UTC), Duration.ofDays(30), 1);
    DailyRows daily = new DailyRows(partitions);
    String updatedAt = now.toString().substring(0, 19).replace('T', ' ');
    TabSeparated eventRows = new TabSeparated(1 << 16);
    for (int first = 0; first < events; first += batch) {
      eventRows.clear();
      int last = Math.min(events, first + batch);
      for (int i = first; i < last; i++) {
        EventValidator.Outcome outcome =
            validator.validate(
                BenchSupport.event(random, "p-" + i, now.minusMillis(random.nextInt(86_400_000))));
        if (!outcome.valid()) {
          throw new IllegalStateException("a generated event is invalid: " + outcome.errors());
        }
        UsageEvent event = outcome.events().get(0);
        eventRows.rows(DistinctEventRow.toRow(event));
        daily.add(event);
      }
      clickHouse.insertTabSeparated(
          "usage_events", DistinctEventRow.COLUMNS, eventRows.inputStream());
      DailyRows.Batch rows = daily.endBatch(updatedAt);
      clickHouse.insertTabSeparated(
          "api_key_hashes", UsageDailyRow.API_KEY_HASH_COLUMNS, rows.apiKeys().inputStream());
      clickHouse.insertTabSeparated(
          "workspaces", UsageDailyRow.WORKSPACE_COLUMNS, rows.workspaces().inputStream());
      clickHouse.insertTabSeparated(
          "usage_daily", UsageDailyRow.COLUMNS, rows.daily().inputStream());
    }
  }

  /** Waits until no merge has run for {@link #SETTLED}; fails after a generous bound. */
  private static void awaitNoMerges(ClickHouse clickHouse) throws InterruptedException {
    long[] quietSince = {System.nanoTime()};
    Await.until(
        "ClickHouse's merges to end",
        () -> {
          long now = System.nanoTime();
          long running =
              clickHouse
                  .querySystem("SELECT count() AS n FROM system.merges")
                  .get(0)
                  .get("n")
                  .asLong();
          if (running > 0) {
            quietSince[0] = now;
          }
          return now - quietSince[0] >= SETTLED.toNanos();
        },
        Duration.ofMinutes(20));
  }

  private static double microsPerEvent(long nanos, int events) {
    return Math.round(nanos / 1e3 / events * 10) / 10.0;
  }

  /**
   * usage_daily as the stream feeds it: each event counted by the task of its events-topic
   * partition (its shard: the default partitioner on the key gateway-ingest sends, {@code
   * account/event id}) into its group's running totals, whose version counts the events folded in;
   * a batch carries the latest totals of each (group, shard) it touched, and the (account, key) and
   * (account, workspace) pairs of those groups once each, as the writer's batch does.
   */
  static final class DailyRows {

    private final int partitions;
    private final Map<Shard, GroupTotals> totals = new HashMap<>();
    private final Map<Shard, GroupTotals> touched = new LinkedHashMap<>();

    DailyRows(int partitions) {
      this.partitions = partitions;
    }

    /** A group (its key, as {@link GroupKey#of} makes it) and shard. */
    record Shard(String group, int shard) {}

    /** One batch's rows in TabSeparated, and how many usage_daily rows it has. */
    record Batch(
        TabSeparated daily, int dailyRows, TabSeparated apiKeys, TabSeparated workspaces) {}

    void add(UsageEvent e) {
      byte[] key = (e.getAccountId() + "/" + e.getEventId()).getBytes(StandardCharsets.UTF_8);
      Shard shard = new Shard(GroupKey.of(e), BuiltInPartitioner.partitionForKey(key, partitions));
      GroupTotals t = totals.get(shard);
      GroupTotals next =
          t == null
              ? new GroupTotals(
                  1,
                  e.getPromptTokens(),
                  e.getCompletionTokens(),
                  e.getReasoningTokens(),
                  e.getCachedTokens(),
                  e.getCost(),
                  e.getByokCost(),
                  e.getIsByok() ? 1 : 0,
                  1)
              : new GroupTotals(
                  t.requests() + 1,
                  t.promptTokens() + e.getPromptTokens(),
                  t.completionTokens() + e.getCompletionTokens(),
                  t.reasoningTokens() + e.getReasoningTokens(),
                  t.cachedTokens() + e.getCachedTokens(),
                  t.usage().add(e.getCost()),
                  t.byokUsageInference().add(e.getByokCost()),
                  t.byokRequests() + (e.getIsByok() ? 1 : 0),
                  t.version() + 1);
      totals.put(shard, next);
      touched.put(shard, next);
    }

    /** The rows of the groups touched since the last batch; starts the next batch. */
    Batch endBatch(String updatedAt) {
      TabSeparated daily = new TabSeparated(1 << 16);
      TabSeparated apiKeys = new TabSeparated(1 << 12);
      TabSeparated workspaces = new TabSeparated(1 << 10);
      Set<String> keyPairs = new HashSet<>();
      Set<String> workspacePairs = new HashSet<>();
      for (Map.Entry<Shard, GroupTotals> row : touched.entrySet()) {
        byte[] group = row.getKey().group().getBytes(StandardCharsets.UTF_8);
        UsageDailyRow.appendRow(daily, group, row.getKey().shard(), row.getValue(), updatedAt);
        byte[] keyPair = GroupKey.apiKeyPair(group);
        if (keyPairs.add(new String(keyPair, StandardCharsets.UTF_8))) {
          UsageDailyRow.appendPairRow(apiKeys, keyPair);
        }
        byte[] workspacePair = GroupKey.workspacePair(group);
        if (workspacePairs.add(new String(workspacePair, StandardCharsets.UTF_8))) {
          UsageDailyRow.appendPairRow(workspaces, workspacePair);
        }
      }
      Batch batch = new Batch(daily, touched.size(), apiKeys, workspaces);
      touched.clear();
      return batch;
    }
  }
}
