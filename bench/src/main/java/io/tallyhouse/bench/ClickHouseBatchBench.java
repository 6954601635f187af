package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;
import static io.tallyhouse.bench.BenchSupport.round1;

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
import io.tallyhouse.schemas.contract.Money;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

/**
 * {@code make bench-clickhouse-batches}: what the writer's batch size costs ClickHouse. On a
 * ClickHouse server of its own, for each batch size of {@code bench.batches} ({@code bench.repeats}
 * times, interleaved), on a fresh database migrated as production's: inserts the rows of {@code
 * bench.events} generated events (the same for every run) as the writer would, {@code
 * rows_per_insert} events per insert (their usage_events rows, and the usage_daily, api_key_hashes
 * and workspaces rows of the groups they touched), back to back, then waits until no merge runs.
 * Reports ClickHouse's CPU time per event (insert phase, and the merges after it) and how many rows
 * its merges rewrote. The last line is JSON.
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
    log("generating " + events + " events and their rows");
    Generated generated = generate(events, partitions, Instant.now());
    Path dir = Files.createTempDirectory("tallyhouse-bench-clickhouse-batches-");
    log("working in " + dir);
    ClickHouseServer server =
        ClickHouseServer.start(dir.resolve("clickhouse"), Ports.freePort(), Ports.freePort());
    ArrayNode runs = JSON.createArrayNode();
    try {
      for (int repeat = 1; repeat <= repeats; repeat++) {
        for (int batch : batches) {
          String database = "batches_" + batch + "_" + repeat;
          ObjectNode run = run(server, database, batch, generated);
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
      ClickHouseServer server, String database, int batch, Generated generated) throws Exception {
    int events = generated.count();
    log(String.format("%d events in inserts of %d rows into database %s", events, batch, database));
    List<ProcessHandle> clickHouseProcess = List.of(server.process());
    try (ClickHouse clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                server.httpUrl(), "default", "", database, Duration.ofMinutes(2)))) {
      Migrations.apply(clickHouse);
      awaitNoMerges(clickHouse);
      ClickHouseCounters countersBefore = ClickHouseCounters.read(clickHouse);
      long cpuBefore = BenchSupport.cpuNanos(clickHouseProcess)[0];
      long start = System.nanoTime();
      insertAll(clickHouse, generated, batch);
      long insertNanos = System.nanoTime() - start;
      long cpuInserted = BenchSupport.cpuNanos(clickHouseProcess)[0];
      awaitNoMerges(clickHouse);
      long cpuSettled = BenchSupport.cpuNanos(clickHouseProcess)[0];
      ClickHouseCounters fed = ClickHouseCounters.read(clickHouse).since(countersBefore);

      ObjectNode run = JSON.createObjectNode();
      run.put("rows_per_insert", batch);
      run.put("cpu_us_per_event", round1((cpuSettled - cpuBefore) / 1e3 / events));
      run.put("insert_phase_cpu_us_per_event", round1((cpuInserted - cpuBefore) / 1e3 / events));
      run.put("merges_after_cpu_us_per_event", round1((cpuSettled - cpuInserted) / 1e3 / events));
      run.put("merged_rows_per_inserted_row", fed.mergedRowsPerInsertedRow());
      run.put("insert_queries", fed.insertQueries());
      run.put("inserted_rows", fed.insertedRows());
      run.put("insert_phase_s", round1(insertNanos / 1e9));
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
   * Inserts the events' rows {@code batch} events at a time, back to back, each table's rows with
   * the columns and the insert the writer uses (sequentially, where the writer sends usage_events
   * on a connection of its own: the same statements and rows).
   */
  private static void insertAll(ClickHouse clickHouse, Generated events, int batch) {
    for (int first = 0; first < events.count(); first += batch) {
      Generated.Batch rows = events.batch(first, Math.min(events.count(), first + batch));
      clickHouse.insertTabSeparated(
          "usage_events", DistinctEventRow.COLUMNS, rows.events().inputStream());
      clickHouse.insertTabSeparated(
          "api_key_hashes", UsageDailyRow.API_KEY_HASH_COLUMNS, rows.apiKeys().inputStream());
      clickHouse.insertTabSeparated(
          "workspaces", UsageDailyRow.WORKSPACE_COLUMNS, rows.workspaces().inputStream());
      clickHouse.insertTabSeparated(
          "usage_daily", UsageDailyRow.COLUMNS, rows.daily().inputStream());
    }
  }

  /**
   * {@code count} realistic events of the 24 hours before {@code now} ({@link BenchSupport#event}),
   * made UsageEvents by gateway-ingest's validator.
   */
  static Generated generate(int count, int partitions, Instant now) {
    Random random = new Random(3);
    EventValidator validator =
        new EventValidator(Clock.fixed(now, ZoneOffset.UTC), Duration.ofDays(30), 1);
    Generated generated =
        new Generated(partitions, now.toString().substring(0, 19).replace('T', ' '));
    for (int i = 0; i < count; i++) {
      EventValidator.Outcome outcome =
          validator.validate(
              BenchSupport.event(random, "p-" + i, now.minusMillis(random.nextInt(86_400_000))));
      if (!outcome.valid()) {
        throw new IllegalStateException("a generated event is invalid: " + outcome.errors());
      }
      generated.add(outcome.events().get(0));
    }
    return generated;
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

  /**
   * The events' rows, rendered once so that every run inserts the same bytes at the pace of
   * ClickHouse alone. usage_daily as the stream feeds it: each event is counted by the task of its
   * events-topic partition (its shard: the default partitioner on the key gateway-ingest sends,
   * {@code account/event id}) into its group's running totals, whose version counts the events
   * folded in; so the row of the totals after each event is fixed whatever the batch size, and a
   * batch carries the latest such row of each (group, shard) it touched, and the (account, key) and
   * (account, workspace) pairs of those groups once each, as the writer's batch does.
   */
  static final class Generated {

    private final int partitions;
    private final String updatedAt;
    private final List<Event> events = new ArrayList<>();
    private final Map<Shard, GroupTotals> totals = new HashMap<>();
    private static final GroupTotals NONE =
        new GroupTotals(0, 0, 0, 0, 0, Money.ZERO, Money.ZERO, 0, 0);

    Generated(int partitions, String updatedAt) {
      this.partitions = partitions;
      this.updatedAt = updatedAt;
    }

    /** A group (its key, as {@link GroupKey#of} makes it) and shard. */
    private record Shard(String group, int shard) {}

    /**
     * An event's usage_events row, its (group, shard) and that one's row after it, its pairs
     * (Strings interned: a million events share a few hundred).
     */
    private record Event(byte[] row, Shard shard, byte[] daily, String apiKeys, String workspace) {}

    /** One batch's rows per table, in TabSeparated. */
    record Batch(
        TabSeparated events, TabSeparated daily, TabSeparated apiKeys, TabSeparated workspaces) {}

    int count() {
      return events.size();
    }

    void add(UsageEvent e) {
      byte[] key = (e.getAccountId() + "/" + e.getEventId()).getBytes(StandardCharsets.UTF_8);
      Shard shard =
          new Shard(GroupKey.of(e).intern(), BuiltInPartitioner.partitionForKey(key, partitions));
      GroupTotals t = totals.getOrDefault(shard, NONE);
      GroupTotals next =
          new GroupTotals(
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
      byte[] group = shard.group().getBytes(StandardCharsets.UTF_8);
      TabSeparated daily = new TabSeparated(256);
      UsageDailyRow.appendRow(daily, group, shard.shard(), next, updatedAt);
      events.add(
          new Event(
              DistinctEventRow.toRow(e),
              shard,
              daily.toByteArray(),
              (e.getAccountId() + GroupKey.SEP + e.getApiKeyHash()).intern(),
              (e.getAccountId() + GroupKey.SEP + e.getWorkspaceId()).intern()));
    }

    /** The rows of events {@code from} (inclusive) to {@code to} as one batch of the writer. */
    Batch batch(int from, int to) {
      TabSeparated rows = new TabSeparated(1 << 16);
      // The newest row of each (group, shard) of the batch; older versions would lose to it anyway.
      Map<Shard, byte[]> latest = new LinkedHashMap<>();
      Set<String> apiKeys = new LinkedHashSet<>();
      Set<String> workspaces = new LinkedHashSet<>();
      for (Event e : events.subList(from, to)) {
        rows.rows(e.row());
        latest.put(e.shard(), e.daily());
        apiKeys.add(e.apiKeys());
        workspaces.add(e.workspace());
      }
      TabSeparated daily = new TabSeparated(1 << 16);
      latest.values().forEach(daily::rows);
      return new Batch(rows, daily, pairRows(apiKeys), pairRows(workspaces));
    }

    private static TabSeparated pairRows(Set<String> pairs) {
      TabSeparated rows = new TabSeparated(1 << 10);
      for (String pair : pairs) {
        byte[] bytes = pair.getBytes(StandardCharsets.UTF_8);
        int sep = 0;
        while (bytes[sep] != GroupKey.SEP) {
          sep++;
        }
        UsageDailyRow.appendPairRow(rows, bytes, 0, sep, bytes, sep + 1, bytes.length);
      }
      return rows;
    }
  }
}
