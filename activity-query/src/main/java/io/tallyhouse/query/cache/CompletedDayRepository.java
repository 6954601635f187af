package io.tallyhouse.query.cache;

import static io.tallyhouse.query.activity.ActivityRepository.COUNT_SUMS;
import static io.tallyhouse.query.activity.ActivityRepository.ROWS;
import static io.tallyhouse.query.activity.ActivityRepository.SUMS;
import static io.tallyhouse.query.activity.ActivityRepository.byokUsage;
import static io.tallyhouse.query.activity.ActivityRepository.day;
import static io.tallyhouse.query.activity.ActivityRepository.timed;
import static io.tallyhouse.query.activity.ActivityRepository.usage;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.JsonEachRowText;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The cache's SQL: the rows of completed days (the activity statement's sums grouped by everything
 * but shard) and the change markers of {@code usage_daily_changes}. Every value reaches the
 * statement through {@link SqlLiteral}.
 */
public final class CompletedDayRepository implements CompletedDaySource {

  private static final JsonEachRowText MARKERS =
      new JsonEachRowText(List.of("account_id", "day", "inserts_sum"));

  private final ClickHouse clickHouse;
  private final MeterRegistry metrics;

  public CompletedDayRepository(ClickHouse clickHouse, MeterRegistry metrics) {
    this.clickHouse = clickHouse;
    this.metrics = metrics;
  }

  /**
   * The rows of {@code days} of {@code account} summed over shards (FINAL, so the highest version
   * of each rollup row counts), one per (day, workspace, api key, user, endpoint): what the cache
   * keeps. One statement for all the days.
   */
  @Override
  public DayLoad completedDays(String account, Collection<LocalDate> days) {
    byte[] rows =
        timed(
            metrics,
            "cache_load",
            () -> clickHouse.queryJsonEachRow(completedDaysSql(account, days)));
    DayLoad loaded = new DayLoad();
    // The same columns as the activity statement grouped by workspace, user and api key.
    String[] counts = new String[COUNT_SUMS.size()];
    ROWS.read(
        rows,
        row -> {
          for (int c = 0; c < counts.length; c++) {
            counts[c] = ROWS.value(row, COUNT_SUMS.get(c));
          }
          LocalDate day = day(ROWS.value(row, "day"));
          BigInteger requests = new BigInteger(counts[0]);
          loaded.add(
              day,
              ROWS.value(row, "workspace_id"),
              ROWS.value(row, "api_key_hash"),
              ROWS.value(row, "user_id"),
              ROWS.value(row, "endpoint_id"),
              ROWS.value(row, "model"),
              ROWS.value(row, "model_permaslug"),
              ROWS.value(row, "provider_name"),
              counts,
              usage(ROWS, row, requests, account, day),
              byokUsage(ROWS, row, requests, account, day));
        });
    return loaded;
  }

  /**
   * The statement behind {@link #completedDays}: the activity statement's sums grouped by
   * everything but shard.
   */
  static String completedDaysSql(String account, Collection<LocalDate> days) {
    if (days.isEmpty()) {
      throw new IllegalArgumentException("no days to load");
    }
    StringBuilder sql =
        new StringBuilder(
                "SELECT toString(date) AS day, workspace_id, api_key_hash, user_id, endpoint_id,"
                    + " model, model_permaslug, provider_name, ")
            .append(SUMS)
            .append(" FROM usage_daily FINAL WHERE account_id = ")
            .append(SqlLiteral.string(account))
            .append(" AND date IN (");
    String separator = "";
    for (LocalDate day : days) {
      sql.append(separator).append(SqlLiteral.date(day));
      separator = ", ";
    }
    return sql.append(
            ") GROUP BY date, workspace_id, api_key_hash, user_id, endpoint_id, model,"
                + " model_permaslug, provider_name")
        .toString();
  }

  /**
   * {@code sum(inserts)} of {@code usage_daily_changes} per account and day of {@code [from, to]}:
   * per account an array indexed by days since {@code from}, 0 for a day without a marker.
   */
  @Override
  public Map<String, long[]> changeMarkers(LocalDate from, LocalDate to) {
    byte[] rows =
        timed(metrics, "cache_poll", () -> clickHouse.queryJsonEachRow(changeMarkersSql(from, to)));
    int days = (int) (to.toEpochDay() - from.toEpochDay()) + 1;
    Map<String, long[]> markers = new HashMap<>();
    MARKERS.read(
        rows,
        row -> {
          long offset = day(MARKERS.value(row, "day")).toEpochDay() - from.toEpochDay();
          if (offset >= 0 && offset < days) {
            markers
                    .computeIfAbsent(MARKERS.value(row, "account_id"), a -> new long[days])[
                    (int) offset] =
                Long.parseUnsignedLong(MARKERS.value(row, "inserts_sum"));
          }
        });
    return markers;
  }

  /**
   * {@code sum(inserts)} of the whole window {@code [from, to]}: it grows with every write to any
   * of its days.
   */
  @Override
  public long changeMarkerTotal(LocalDate from, LocalDate to) {
    List<JsonNode> rows =
        timed(metrics, "cache_poll", () -> clickHouse.query(changeMarkerTotalSql(from, to)));
    return Long.parseUnsignedLong(rows.get(0).get("inserts_sum").asText());
  }

  /**
   * The accounts with rows in {@code [from, to]}, the most recently active first: by their latest
   * day with rows, then by their requests in those days (the largest first), then by id. Read
   * without {@code FINAL}: a row's older versions may count too, which only matters for the order.
   */
  public List<String> recentAccounts(LocalDate from, LocalDate to) {
    List<JsonNode> rows =
        timed(metrics, "cache_warmup", () -> clickHouse.query(recentAccountsSql(from, to)));
    List<String> accounts = new ArrayList<>(rows.size());
    for (JsonNode row : rows) {
      accounts.add(row.get("account_id").asText());
    }
    return accounts;
  }

  static String recentAccountsSql(LocalDate from, LocalDate to) {
    return "SELECT account_id, max(date) AS last_active, sum(requests) AS requests_sum"
        + " FROM usage_daily WHERE date >= "
        + SqlLiteral.date(from)
        + " AND date <= "
        + SqlLiteral.date(to)
        + " GROUP BY account_id ORDER BY last_active DESC, requests_sum DESC, account_id";
  }

  static String changeMarkerTotalSql(LocalDate from, LocalDate to) {
    return "SELECT sum(inserts) AS inserts_sum FROM usage_daily_changes"
        + " WHERE date >= "
        + SqlLiteral.date(from)
        + " AND date <= "
        + SqlLiteral.date(to);
  }

  static String changeMarkersSql(LocalDate from, LocalDate to) {
    return "SELECT account_id, toString(date) AS day, sum(inserts) AS inserts_sum FROM usage_daily_changes"
        + " WHERE date >= "
        + SqlLiteral.date(from)
        + " AND date <= "
        + SqlLiteral.date(to)
        + " GROUP BY account_id, date";
  }
}
