package io.tallyhouse.query;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The module's only SQL: reads {@code usage_daily} and {@code api_key_hashes}. Every value reaches the
 * statement through {@link SqlLiteral}; column and table names are constants.
 */
public final class ActivityRepository {

  /** The timer around every ClickHouse call, tagged {@code query=activity|export|key_lookup}. */
  public static final String QUERY_TIMER = "activity_clickhouse_query";

  /**
   * The sums both the activity API and the export select. Aliases never repeat a column name (on 18.16
   * {@code sum(requests) AS requests} breaks the query); money is summed as Decimal and read as text, exactly.
   */
  static final String SUMS = "sum(requests) AS requests_sum, sum(prompt_tokens) AS prompt_tokens_sum,"
      + " sum(completion_tokens) AS completion_tokens_sum, sum(reasoning_tokens) AS reasoning_tokens_sum,"
      + " sum(cached_tokens) AS cached_tokens_sum, sum(byok_requests) AS byok_requests_sum,"
      + " toString(sum(usage)) AS usage_sum, toString(sum(byok_usage_inference)) AS byok_usage_inference_sum";

  /** The count aliases of {@link #SUMS}, in the order of {@link CachedDay}'s counts. */
  private static final List<String> COUNT_SUMS = List.of("requests_sum", "prompt_tokens_sum", "completion_tokens_sum",
      "reasoning_tokens_sum", "cached_tokens_sum", "byok_requests_sum");
  /** The columns of the activity statement, by name, to their place in a row being read. */
  private static final Map<String, Integer> ROW_COLUMNS = index("day", "endpoint_id", "model", "model_permaslug",
      "provider_name", "user_id", "api_key_hash", "requests_sum", "prompt_tokens_sum", "completion_tokens_sum",
      "reasoning_tokens_sum", "cached_tokens_sum", "byok_requests_sum", "usage_sum", "byok_usage_inference_sum");
  private static final Map<String, Integer> MARKER_COLUMNS = index("account_id", "day", "inserts_sum");
  private static final JsonFactory JSON_FACTORY = new JsonFactory();

  private final ClickHouse clickHouse;
  private final MeterRegistry metrics;

  public ActivityRepository(ClickHouse clickHouse) {
    this(clickHouse, new SimpleMeterRegistry());
  }

  public ActivityRepository(ClickHouse clickHouse, MeterRegistry metrics) {
    this.clickHouse = clickHouse;
    this.metrics = metrics;
  }

  /** Runs {@code call} under the {@value #QUERY_TIMER} timer tagged {@code query}, failures included. */
  static <T> T timed(MeterRegistry metrics, String query, Supplier<T> call) {
    Timer timer = Timer.builder(QUERY_TIMER)
        .description("ClickHouse calls of activity-query, by query")
        .tag("query", query)
        .register(metrics);
    return timer.record(call);
  }

  /** Whether {@code account} has ever reported {@code apiKeyHash} (lowercase hex). */
  public boolean apiKeyKnown(String account, String apiKeyHash) {
    return !timed(metrics, "key_lookup", () -> clickHouse.query(apiKeyKnownSql(account, apiKeyHash))).isEmpty();
  }

  /** The items of {@code request} for {@code account}, in the contract's order. */
  public List<ActivityItem> activity(String account, ActivityRequest request) {
    return activity(account, request, Integer.MAX_VALUE);
  }

  /**
   * As {@link #activity(String, ActivityRequest)}, reading at most {@code limit} items (which ones is undefined when
   * there are more: the caller only learns that there are too many).
   */
  public List<ActivityItem> activity(String account, ActivityRequest request, int limit) {
    String sql = activitySql(account, request) + (limit == Integer.MAX_VALUE ? "" : " LIMIT " + limit);
    byte[] rows = timed(metrics, "activity", () -> clickHouse.queryJsonEachRow(sql));
    List<ActivityItem> items = readItems(rows, request);
    // ClickHouse 18.16 orders decimals through floats; BigDecimal order is exact.
    items.sort(ActivityItem.ORDER);
    return items;
  }

  /** The statement behind {@link #apiKeyKnown}; public so the query benchmark can run it directly. */
  public static String apiKeyKnownSql(String account, String apiKeyHash) {
    return "SELECT 1 AS found FROM api_key_hashes WHERE account_id = " + SqlLiteral.string(account)
        + " AND api_key_hash = " + SqlLiteral.string(apiKeyHash) + " LIMIT 1";
  }

  /**
   * Sums the rollup rows of the window per (date, endpoint, model, permaslug, provider) and the requested
   * groupings. FINAL keeps only the highest version of each rollup row even before parts merge. Aliases
   * never repeat a column name: on 18.16 {@code sum(requests) AS requests} breaks the query. Public so the query
   * benchmark can run the very statement directly against ClickHouse.
   */
  public static String activitySql(String account, ActivityRequest request) {
    StringBuilder sql = new StringBuilder("SELECT toString(date) AS day, endpoint_id, model, model_permaslug, provider_name");
    if (request.groupByUser()) {
      sql.append(", user_id");
    }
    if (request.groupByApiKey()) {
      sql.append(", api_key_hash");
    }
    sql.append(", ").append(SUMS)
        .append(" FROM usage_daily FINAL")
        .append(" WHERE account_id = ").append(SqlLiteral.string(account));
    if (request.from().equals(request.to())) {
      sql.append(" AND date = ").append(SqlLiteral.date(request.from()));
    } else {
      sql.append(" AND date >= ").append(SqlLiteral.date(request.from()))
          .append(" AND date <= ").append(SqlLiteral.date(request.to()));
    }
    request.apiKeyHash().ifPresent(h -> sql.append(" AND api_key_hash = ").append(SqlLiteral.string(h)));
    request.userId().ifPresent(u -> sql.append(" AND user_id = ").append(SqlLiteral.string(u)));
    sql.append(" GROUP BY date, endpoint_id, model, model_permaslug, provider_name");
    if (request.groupByUser()) {
      sql.append(", user_id");
    }
    if (request.groupByApiKey()) {
      sql.append(", api_key_hash");
    }
    return sql.toString();
  }

  /**
   * The rows of the activity statement (JSONEachRow) as items, read token by token: a large account's answer has
   * thousands of rows, and a JSON tree per row cost the service more CPU than ClickHouse spent computing them
   * (profiled with {@code make bench-query}). Every value is taken as its text, so numbers stay exact whether the
   * server quotes 64-bit integers or not.
   */
  static List<ActivityItem> readItems(byte[] rows, ActivityRequest request) {
    List<ActivityItem> items = new ArrayList<>();
    readRows(rows, ROW_COLUMNS, row -> items.add(toItem(row, request)));
    return items;
  }

  /**
   * Hands every JSONEachRow object of {@code rows} to {@code sink} as the texts of {@code columns} (by their index;
   * other fields are skipped). The array is reused for the next row.
   */
  private static void readRows(byte[] rows, Map<String, Integer> columns, Consumer<String[]> sink) {
    String[] row = new String[columns.size()];
    try (JsonParser parser = JSON_FACTORY.createParser(rows)) {
      while (parser.nextToken() == JsonToken.START_OBJECT) {
        Arrays.fill(row, null);
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          Integer column = columns.get(parser.currentName());
          parser.nextToken();
          if (column != null) {
            row[column] = parser.getText();
          } else {
            parser.skipChildren();
          }
        }
        sink.accept(row);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable rows from ClickHouse", e);
    }
  }

  private static ActivityItem toItem(String[] row, ActivityRequest request) {
    String user = null;
    if (request.groupByUser()) {
      String stored = value(row, ROW_COLUMNS, "user_id");
      user = stored.isEmpty() ? null : stored;
    }
    return new ActivityItem(
        day(value(row, ROW_COLUMNS, "day")),
        value(row, ROW_COLUMNS, "model"),
        value(row, ROW_COLUMNS, "model_permaslug"),
        value(row, ROW_COLUMNS, "endpoint_id"),
        value(row, ROW_COLUMNS, "provider_name"),
        user,
        request.groupByApiKey() ? value(row, ROW_COLUMNS, "api_key_hash") : null,
        new BigDecimal(value(row, ROW_COLUMNS, "usage_sum")),
        new BigDecimal(value(row, ROW_COLUMNS, "byok_usage_inference_sum")),
        new BigInteger(value(row, ROW_COLUMNS, "requests_sum")),
        new BigInteger(value(row, ROW_COLUMNS, "prompt_tokens_sum")),
        new BigInteger(value(row, ROW_COLUMNS, "completion_tokens_sum")),
        new BigInteger(value(row, ROW_COLUMNS, "reasoning_tokens_sum")),
        new BigInteger(value(row, ROW_COLUMNS, "cached_tokens_sum")),
        new BigInteger(value(row, ROW_COLUMNS, "byok_requests_sum")));
  }

  private static String value(String[] row, Map<String, Integer> columns, String column) {
    String value = row[columns.get(column)];
    if (value == null) {
      throw new IllegalStateException("ClickHouse row without " + column);
    }
    return value;
  }

  /**
   * The rows of {@code days} of {@code account} summed over shards (FINAL, so the highest version of each rollup row
   * counts), one per (day, api key, user, endpoint): what the cache keeps. One statement for all the days.
   */
  CachedDay.Days completedDays(String account, Collection<LocalDate> days) {
    byte[] rows = timed(metrics, "cache_load", () -> clickHouse.queryJsonEachRow(completedDaysSql(account, days)));
    CachedDay.Days loaded = new CachedDay.Days();
    // The same columns as the activity statement grouped by user and api key.
    String[] counts = new String[COUNT_SUMS.size()];
    readRows(rows, ROW_COLUMNS, row -> {
      for (int c = 0; c < counts.length; c++) {
        counts[c] = value(row, ROW_COLUMNS, COUNT_SUMS.get(c));
      }
      loaded.add(day(value(row, ROW_COLUMNS, "day")), value(row, ROW_COLUMNS, "api_key_hash"),
          value(row, ROW_COLUMNS, "user_id"), value(row, ROW_COLUMNS, "endpoint_id"), value(row, ROW_COLUMNS, "model"),
          value(row, ROW_COLUMNS, "model_permaslug"), value(row, ROW_COLUMNS, "provider_name"), counts,
          value(row, ROW_COLUMNS, "usage_sum"), value(row, ROW_COLUMNS, "byok_usage_inference_sum"));
    });
    return loaded;
  }

  /** The statement behind {@link #completedDays}: the activity statement's sums grouped by everything but shard. */
  static String completedDaysSql(String account, Collection<LocalDate> days) {
    if (days.isEmpty()) {
      throw new IllegalArgumentException("no days to load");
    }
    StringBuilder sql = new StringBuilder("SELECT toString(date) AS day, api_key_hash, user_id, endpoint_id, model,"
        + " model_permaslug, provider_name, ").append(SUMS)
        .append(" FROM usage_daily FINAL WHERE account_id = ").append(SqlLiteral.string(account))
        .append(" AND date IN (");
    String separator = "";
    for (LocalDate day : days) {
      sql.append(separator).append(SqlLiteral.date(day));
      separator = ", ";
    }
    return sql.append(") GROUP BY date, api_key_hash, user_id, endpoint_id, model, model_permaslug, provider_name")
        .toString();
  }

  /**
   * {@code sum(inserts)} of {@code usage_daily_changes} per account and day of {@code [from, to]}: per account an array
   * indexed by days since {@code from}, 0 for a day without a marker.
   */
  Map<String, long[]> changeMarkers(LocalDate from, LocalDate to) {
    byte[] rows = timed(metrics, "cache_poll", () -> clickHouse.queryJsonEachRow(changeMarkersSql(from, to)));
    int days = (int) (to.toEpochDay() - from.toEpochDay()) + 1;
    Map<String, long[]> markers = new HashMap<>();
    readRows(rows, MARKER_COLUMNS, row -> {
      long offset = day(value(row, MARKER_COLUMNS, "day")).toEpochDay() - from.toEpochDay();
      if (offset >= 0 && offset < days) {
        markers.computeIfAbsent(value(row, MARKER_COLUMNS, "account_id"), a -> new long[days])[(int) offset] =
            Long.parseUnsignedLong(value(row, MARKER_COLUMNS, "inserts_sum"));
      }
    });
    return markers;
  }

  /** {@code sum(inserts)} of the whole window {@code [from, to]}: it grows with every write to any of its days. */
  long changeMarkerTotal(LocalDate from, LocalDate to) {
    List<JsonNode> rows = timed(metrics, "cache_poll", () -> clickHouse.query(changeMarkerTotalSql(from, to)));
    return Long.parseUnsignedLong(rows.get(0).get("inserts_sum").asText());
  }

  static String changeMarkerTotalSql(LocalDate from, LocalDate to) {
    return "SELECT sum(inserts) AS inserts_sum FROM usage_daily_changes"
        + " WHERE date >= " + SqlLiteral.date(from) + " AND date <= " + SqlLiteral.date(to);
  }

  static String changeMarkersSql(LocalDate from, LocalDate to) {
    return "SELECT account_id, toString(date) AS day, sum(inserts) AS inserts_sum FROM usage_daily_changes"
        + " WHERE date >= " + SqlLiteral.date(from) + " AND date <= " + SqlLiteral.date(to)
        + " GROUP BY account_id, date";
  }

  /** {@code toString(date)} is always {@code YYYY-MM-DD}; LocalDate.parse's formatter was a hot spot. */
  static LocalDate day(String text) {
    if (text.length() != 10 || text.charAt(4) != '-' || text.charAt(7) != '-') {
      throw new IllegalStateException("not a ClickHouse date: " + text);
    }
    return LocalDate.of(Integer.parseInt(text, 0, 4, 10), Integer.parseInt(text, 5, 7, 10),
        Integer.parseInt(text, 8, 10, 10));
  }

  private static Map<String, Integer> index(String... columns) {
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < columns.length; i++) {
      index.put(columns[i], i);
    }
    return Map.copyOf(index);
  }

  /** UInt64 arrives as a quoted string in JSONEachRow (and as a number on some servers): read its text. */
  static BigInteger integer(JsonNode row, String name) {
    return new BigInteger(row.get(name).asText());
  }
}
