package io.tallyhouse.tools.migrate;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.Migrations.Migration;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.testkit.Await;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * A database at migration 005 holding usage, as deployments had it before workspaces, and what
 * migration 006 must keep of it. Shared by the single-node and the cluster upgrade tests: rows are
 * written as the writer writes them (through the Distributed tables on a cluster, with the layout's
 * insert settings) and read as the readers read them (FINAL, summed over shards).
 *
 * <p>Per account a (six, so a cluster spreads them over its shards) and day d (two): group g0 at
 * versions 1 and 2 (2 replaces 1), group g1 counted by shards 0 and 1 (both add), with usage of 12
 * decimal places.
 */
final class UpgradeScenario {

  static final int ACCOUNTS = 6;
  static final List<LocalDate> DAYS = List.of(LocalDate.of(2026, 11, 1), LocalDate.of(2026, 11, 2));
  static final Duration REPLICATION = Duration.ofMinutes(2);

  /** The columns of usage_daily before 006 (and the new one, named when written after it). */
  static final List<String> DAILY =
      List.of(
          "account_id",
          "date",
          "api_key_hash",
          "user_id",
          "endpoint_id",
          "model",
          "model_permaslug",
          "provider_name",
          "shard",
          "requests",
          "usage",
          "version",
          "updated_at");

  private final ClickHouse clickHouse;
  private final SchemaLayout layout;

  /** Requests and usage per "account\tday", as the rows below must sum to. */
  private final TreeMap<String, BigDecimal[]> expected = new TreeMap<>();

  UpgradeScenario(ClickHouse clickHouse, SchemaLayout layout) {
    this.clickHouse = clickHouse;
    this.layout = layout;
  }

  /** Applies migrations 001-005 only, as a build before workspaces left the database. */
  void migrateTo005() {
    List<Migration> before = Migrations.tallyhouseTables().subList(0, 5);
    Migrations.apply(clickHouse, Migrations.plan(clickHouse, layout, before));
  }

  /** The statements of 006 in this layout (what migrate runs for it). */
  List<String> statementsOf006() {
    List<Migration> missing =
        Migrations.plan(clickHouse, layout, Migrations.tallyhouseTables()).missing();
    return missing.stream()
        .filter(m -> m.name().equals("006_workspaces.sql"))
        .findFirst()
        .orElseThrow()
        .statements();
  }

  /** Writes usage_daily, usage_events and api_key_hashes rows of before the upgrade. */
  void writeRowsOfBeforeTheUpgrade() {
    TabSeparated daily = new TabSeparated(8192);
    TabSeparated events = new TabSeparated(8192);
    TabSeparated keys = new TabSeparated(1024);
    for (int a = 0; a < ACCOUNTS; a++) {
      keys.string(account(a)).string("key-" + a).endRow();
      for (LocalDate day : DAYS) {
        BigDecimal unit = new BigDecimal("0.000000000001").multiply(BigDecimal.valueOf(a + 1));
        // g0 version 1 is replaced by version 2; g1 is counted by two shards.
        daily(
            daily, account(a), day, "g0", 0, 2, unit.multiply(BigDecimal.valueOf(2)), 1, List.of());
        daily(daily, account(a), day, "g0", 0, 5, new BigDecimal("1.25").add(unit), 2, List.of());
        daily(daily, account(a), day, "g1", 0, 1, new BigDecimal("3.5"), 1, List.of());
        daily(daily, account(a), day, "g1", 1, 3, unit, 3, List.of());
        add(
            account(a),
            day,
            5 + 1 + 3,
            new BigDecimal("1.25").add(unit).add(new BigDecimal("3.5")).add(unit));
        events.string(account(a)).string("ev-" + a + "-" + day).date(day).decimal(unit).endRow();
      }
    }
    insert("usage_daily", DAILY, daily);
    insert("usage_events", List.of("account_id", "event_id", "date", "cost"), events);
    insert("api_key_hashes", List.of("account_id", "api_key_hash"), keys);
  }

  /**
   * After 006: the stream's next complete-totals row for group g0 of account 0 on day 1, in the
   * default workspace (stored as before, higher version), and a row of workspace {@code ws-b} with
   * the same other key fields. The first must replace g0's old row, the second add beside it.
   */
  void writeRowsOfAfterTheUpgrade() {
    TabSeparated daily = new TabSeparated(1024);
    List<String> columns = new ArrayList<>(DAILY);
    columns.add("workspace_id");
    LocalDate day = DAYS.get(0);
    daily(
        daily,
        account(0),
        day,
        "g0",
        0,
        7,
        new BigDecimal("2.000000000007"),
        3,
        List.of(Workspaces.stored(Workspaces.DEFAULT)));
    daily(daily, account(0), day, "g0", 0, 1, new BigDecimal("0.000000000009"), 1, List.of("ws-b"));
    insert("usage_daily", columns, daily);
    // g0 was 5 requests, 1.25 + 0.000000000001: it is now 7 and 2.000000000007; ws-b adds 1.
    add(
        account(0),
        day,
        7 - 5 + 1,
        new BigDecimal("2.000000000007")
            .subtract(new BigDecimal("1.250000000001"))
            .add(new BigDecimal("0.000000000009")));
  }

  /** "account\tday\trequests\tusage" per account and day, as the rows written must sum to. */
  String expectedTotals() {
    StringBuilder text = new StringBuilder();
    expected.forEach(
        (key, sums) ->
            text.append(key)
                .append('\t')
                .append(sums[0].toPlainString())
                .append('\t')
                .append(sums[1].setScale(12).toPlainString())
                .append('\n'));
    return text.toString();
  }

  /** The totals per account and day as readers compute them. */
  String totals() {
    return text(
        "SELECT account_id, toString(date) AS day, toString(sum(requests)) AS requests,"
            + " toString(sum(usage)) AS usage FROM usage_daily FINAL GROUP BY account_id, date"
            + " ORDER BY account_id, date");
  }

  /** The workspaces of usage_daily's rows, as shown. */
  String shownDailyWorkspaces() {
    StringBuilder text = new StringBuilder();
    clickHouse
        .query(
            "SELECT workspace_id, count() AS n FROM usage_daily FINAL GROUP BY workspace_id"
                + " ORDER BY workspace_id")
        .forEach(
            row ->
                text.append(Workspaces.shown(row.get("workspace_id").asText()))
                    .append('\t')
                    .append(row.get("n").asText())
                    .append('\n'));
    return text.toString();
  }

  String eventWorkspaces() {
    return text(
        "SELECT workspace_id, toString(count()) AS n FROM usage_events FINAL GROUP BY workspace_id");
  }

  String workspaces() {
    return text(
        "SELECT DISTINCT account_id, workspace_id FROM workspaces ORDER BY account_id,"
            + " workspace_id");
  }

  String apiKeyHashes() {
    return text("SELECT DISTINCT account_id, api_key_hash FROM api_key_hashes ORDER BY account_id");
  }

  /** "account\tdefault" for every account: what the backfill must leave in workspaces. */
  static String everyAccountInDefault() {
    StringBuilder text = new StringBuilder();
    for (int a = 0; a < ACCOUNTS; a++) {
      text.append(account(a)).append('\t').append(Workspaces.DEFAULT).append('\n');
    }
    return text.toString();
  }

  static String everyAccountsKey() {
    StringBuilder text = new StringBuilder();
    for (int a = 0; a < ACCOUNTS; a++) {
      text.append(account(a)).append('\t').append("key-" + a).append('\n');
    }
    return text.toString();
  }

  /**
   * Waits until {@code actual} answers {@code expected} (replicas apply ALTERs and rows a little
   * after the node migrate talked to; a single node answers at once), then asserts it.
   */
  static void awaitEquals(String what, String expected, Supplier<String> actual)
      throws InterruptedException {
    Supplier<String> tolerant =
        () -> {
          try {
            return actual.get();
          } catch (ClickHouseException e) {
            return e.getMessage();
          }
        };
    try {
      Await.until(what, () -> expected.equals(tolerant.get()), REPLICATION);
    } catch (AssertionError e) {
      org.junit.jupiter.api.Assertions.assertEquals(expected, tolerant.get(), e.getMessage());
    }
  }

  private String text(String sql) {
    StringBuilder text = new StringBuilder();
    clickHouse
        .query(sql)
        .forEach(
            row -> {
              List<String> values = new ArrayList<>();
              row.fields().forEachRemaining(f -> values.add(f.getValue().asText()));
              text.append(String.join("\t", values)).append('\n');
            });
    return text.toString();
  }

  private void add(String account, LocalDate day, long requests, BigDecimal usage) {
    BigDecimal[] sums =
        expected.computeIfAbsent(
            account + "\t" + day, k -> new BigDecimal[] {BigDecimal.ZERO, BigDecimal.ZERO});
    sums[0] = sums[0].add(BigDecimal.valueOf(requests));
    sums[1] = sums[1].add(usage);
  }

  private void insert(String table, List<String> columns, TabSeparated rows) {
    clickHouse.insertTabSeparated(table, columns, rows.inputStream(), layout.insertSettings());
  }

  private static void daily(
      TabSeparated rows,
      String account,
      LocalDate day,
      String endpoint,
      int shard,
      long requests,
      BigDecimal usage,
      long version,
      List<String> extra) {
    rows.string(account)
        .date(day)
        .string("key")
        .string("")
        .string(endpoint)
        .string("m")
        .string("m")
        .string("p")
        .number(shard)
        .number(requests)
        .decimal(usage)
        .number(version)
        .dateTime(1_790_000_000L);
    extra.forEach(rows::string);
    rows.endRow();
  }

  static String account(int a) {
    return "acct-" + a;
  }
}
