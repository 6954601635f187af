package io.tallyhouse.query.activity;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.JsonEachRowText;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.money.ImpossibleTotalException;
import io.tallyhouse.common.money.MoneyTotals;
import io.tallyhouse.query.auth.ReportedFilters;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The SQL of {@code /api/v1/activity}: reads {@code usage_daily}, {@code workspaces} and {@code
 * api_key_hashes}, and holds the sums and their readers the cache's loads and the export share.
 * Every value reaches the statement through {@link SqlLiteral}; column and table names are
 * constants.
 */
public final class ActivityRepository {

  /**
   * The timer around every ClickHouse call, tagged {@code query=activity|export|key_lookup} (and
   * the cache's {@code cache_load|cache_poll}); rendered {@code activity_clickhouse_query_seconds}.
   */
  public static final String QUERY_TIMER = "activity_clickhouse_query";

  /**
   * The sums both the activity API and the export select. Aliases never repeat a column name (on
   * 18.16 {@code sum(requests) AS requests} breaks the query); money is summed so that it cannot
   * wrap and read strictly ({@link MoneyTotals}).
   */
  public static final String SUMS =
      "sum(requests) AS requests_sum, sum(prompt_tokens) AS prompt_tokens_sum,"
          + " sum(completion_tokens) AS completion_tokens_sum, sum(reasoning_tokens) AS reasoning_tokens_sum,"
          + " sum(cached_tokens) AS cached_tokens_sum, sum(byok_requests) AS byok_requests_sum, "
          + MoneyTotals.sumSql("usage", "usage_sum")
          + ", "
          + MoneyTotals.sumSql("byok_usage_inference", "byok_usage_inference_sum");

  /** The count aliases of {@link #SUMS}: requests, then the token counts, then byok_requests. */
  public static final List<String> COUNT_SUMS =
      List.of(
          "requests_sum",
          "prompt_tokens_sum",
          "completion_tokens_sum",
          "reasoning_tokens_sum",
          "cached_tokens_sum",
          "byok_requests_sum");

  private static final List<String> USAGE_SUM = MoneyTotals.aliases("usage_sum");
  private static final List<String> BYOK_USAGE_SUM =
      MoneyTotals.aliases("byok_usage_inference_sum");

  /** Every alias of {@link #SUMS}. */
  public static final List<String> SUM_COLUMNS = concat(COUNT_SUMS, USAGE_SUM, BYOK_USAGE_SUM);

  /** The columns of the activity statement. */
  public static final JsonEachRowText ROWS =
      new JsonEachRowText(
          concat(
              List.of(
                  "day",
                  "endpoint_id",
                  "model",
                  "model_permaslug",
                  "provider_name",
                  "workspace_id",
                  "user_id",
                  "api_key_hash"),
              SUM_COLUMNS));

  private final ClickHouse clickHouse;
  private final MeterRegistry metrics;

  public ActivityRepository(ClickHouse clickHouse) {
    this(clickHouse, new SimpleMeterRegistry());
  }

  public ActivityRepository(ClickHouse clickHouse, MeterRegistry metrics) {
    this.clickHouse = clickHouse;
    this.metrics = metrics;
  }

  /**
   * Runs {@code call} under the {@value #QUERY_TIMER} timer tagged {@code query}, failures
   * included.
   */
  public static <T> T timed(MeterRegistry metrics, String query, Supplier<T> call) {
    Timer timer =
        Timer.builder(QUERY_TIMER)
            .description("ClickHouse calls of activity-query by query, failed ones included")
            .tag("query", query)
            .register(metrics);
    return timer.record(call);
  }

  /**
   * Whether {@code account} has ever reported {@code value} of {@code filter}: a workspace as the
   * API shows it, an api key hash in lowercase hex.
   */
  public boolean reported(ReportedFilters.Filter filter, String account, String value) {
    String sql =
        switch (filter) {
          case WORKSPACE_ID -> workspaceKnownSql(account, value);
          case API_KEY_HASH -> apiKeyKnownSql(account, value);
        };
    return !timed(metrics, "key_lookup", () -> clickHouse.query(sql)).isEmpty();
  }

  /** The items of {@code request} for {@code account}, in the contract's order. */
  public List<ActivityItem> activity(String account, ActivityRequest request) {
    return activity(account, request, Integer.MAX_VALUE);
  }

  /**
   * As {@link #activity(String, ActivityRequest)}, reading at most {@code limit} items (which ones
   * is undefined when there are more: the caller only learns that there are too many).
   */
  public List<ActivityItem> activity(String account, ActivityRequest request, int limit) {
    String sql =
        activitySql(account, request) + (limit == Integer.MAX_VALUE ? "" : " LIMIT " + limit);
    byte[] rows = timed(metrics, "activity", () -> clickHouse.queryJsonEachRow(sql));
    List<ActivityItem> items = readItems(rows, account, request);
    // ClickHouse 18.16 orders decimals through floats; BigDecimal order is exact.
    items.sort(ActivityItem.ORDER);
    return items;
  }

  /**
   * The statement behind {@link #reported} for an api key; public so the query benchmark can run it
   * directly.
   */
  public static String apiKeyKnownSql(String account, String apiKeyHash) {
    return "SELECT 1 AS found FROM api_key_hashes WHERE account_id = "
        + SqlLiteral.string(account)
        + " AND api_key_hash = "
        + SqlLiteral.string(apiKeyHash)
        + " LIMIT 1";
  }

  /**
   * The statement that finds whether {@code account} reported {@code workspaceId}; the {@code
   * workspaces} table holds workspace ids as shown ({@code default}, never '').
   */
  public static String workspaceKnownSql(String account, String workspaceId) {
    return "SELECT 1 AS found FROM workspaces WHERE account_id = "
        + SqlLiteral.string(account)
        + " AND workspace_id = "
        + SqlLiteral.string(workspaceId)
        + " LIMIT 1";
  }

  /**
   * Sums the rollup rows of the window per (date, endpoint, model, permaslug, provider) and the
   * requested groupings; without the workspace grouping the rows of all workspaces are summed.
   * FINAL keeps only the highest version of each rollup row even before parts merge. Aliases never
   * repeat a column name: on 18.16 {@code sum(requests) AS requests} breaks the query. Public so
   * the query benchmark can run the very statement directly against ClickHouse.
   */
  public static String activitySql(String account, ActivityRequest request) {
    StringBuilder sql =
        new StringBuilder(
            "SELECT toString(date) AS day, endpoint_id, model, model_permaslug, provider_name");
    sql.append(groupColumns(request));
    sql.append(", ")
        .append(SUMS)
        .append(" FROM usage_daily FINAL")
        .append(" WHERE account_id = ")
        .append(SqlLiteral.string(account));
    if (request.from().equals(request.to())) {
      sql.append(" AND date = ").append(SqlLiteral.date(request.from()));
    } else {
      sql.append(" AND date >= ")
          .append(SqlLiteral.date(request.from()))
          .append(" AND date <= ")
          .append(SqlLiteral.date(request.to()));
    }
    request
        .storedWorkspaceId()
        .ifPresent(w -> sql.append(" AND workspace_id = ").append(SqlLiteral.string(w)));
    request
        .apiKeyHash()
        .ifPresent(h -> sql.append(" AND api_key_hash = ").append(SqlLiteral.string(h)));
    request.userId().ifPresent(u -> sql.append(" AND user_id = ").append(SqlLiteral.string(u)));
    sql.append(" GROUP BY date, endpoint_id, model, model_permaslug, provider_name");
    sql.append(groupColumns(request));
    return sql.toString();
  }

  /** The columns the request's groupings add to the SELECT and the GROUP BY, each after ", ". */
  private static String groupColumns(ActivityRequest request) {
    return (request.groupByWorkspace() ? ", workspace_id" : "")
        + (request.groupByUser() ? ", user_id" : "")
        + (request.groupByApiKey() ? ", api_key_hash" : "");
  }

  /**
   * The rows of the activity statement (JSONEachRow) as items, read token by token: a large
   * account's answer has thousands of rows, and a JSON tree per row cost the service more CPU than
   * ClickHouse spent computing them (profiled with {@code make bench-query}). Every value is taken
   * as its text, so numbers stay exact whether the server quotes 64-bit integers or not. An
   * impossible total fails the whole answer, naming the account and day.
   */
  static List<ActivityItem> readItems(byte[] rows, String account, ActivityRequest request) {
    List<ActivityItem> items = new ArrayList<>();
    ROWS.read(rows, row -> items.add(toItem(row, account, request)));
    return items;
  }

  private static ActivityItem toItem(String[] row, String account, ActivityRequest request) {
    String user = null;
    if (request.groupByUser()) {
      String stored = ROWS.value(row, "user_id");
      user = stored.isEmpty() ? null : stored;
    }
    LocalDate day = day(ROWS.value(row, "day"));
    BigInteger requests = new BigInteger(ROWS.value(row, "requests_sum"));
    return new ActivityItem(
        day,
        ROWS.value(row, "model"),
        ROWS.value(row, "model_permaslug"),
        ROWS.value(row, "endpoint_id"),
        ROWS.value(row, "provider_name"),
        request.groupByWorkspace() ? Workspaces.shown(ROWS.value(row, "workspace_id")) : null,
        user,
        request.groupByApiKey() ? ROWS.value(row, "api_key_hash") : null,
        usage(ROWS, row, requests, account, day),
        byokUsage(ROWS, row, requests, account, day),
        requests,
        new BigInteger(ROWS.value(row, "prompt_tokens_sum")),
        new BigInteger(ROWS.value(row, "completion_tokens_sum")),
        new BigInteger(ROWS.value(row, "reasoning_tokens_sum")),
        new BigInteger(ROWS.value(row, "cached_tokens_sum")),
        new BigInteger(ROWS.value(row, "byok_requests_sum")));
  }

  /**
   * The total {@code field} of a row that selected {@link #SUMS}, checked by {@link
   * MoneyTotals#total}; an impossible one is rethrown naming the account and day, for the error log
   * (the client only sees a 500).
   */
  private static BigDecimal money(
      JsonEachRowText reader,
      String[] row,
      String field,
      List<String> aliases,
      BigInteger requests,
      String account,
      Object day) {
    try {
      return MoneyTotals.total(
          field,
          reader.value(row, aliases.get(0)),
          reader.value(row, aliases.get(1)),
          reader.value(row, aliases.get(2)),
          reader.value(row, aliases.get(3)),
          requests);
    } catch (ImpossibleTotalException e) {
      throw new ImpossibleTotalException(
          "impossible total in usage_daily for account "
              + account
              + ", day "
              + day
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** {@link #money} of {@code usage}. */
  public static BigDecimal usage(
      JsonEachRowText reader, String[] row, BigInteger requests, String account, Object day) {
    return money(reader, row, "usage", USAGE_SUM, requests, account, day);
  }

  /** {@link #money} of {@code byok_usage_inference}. */
  public static BigDecimal byokUsage(
      JsonEachRowText reader, String[] row, BigInteger requests, String account, Object day) {
    return money(reader, row, "byok_usage_inference", BYOK_USAGE_SUM, requests, account, day);
  }

  /**
   * {@code toString(date)} is always {@code YYYY-MM-DD}; LocalDate.parse's formatter is a hot spot
   * when large answers are read.
   */
  public static LocalDate day(String text) {
    if (text.length() != 10 || text.charAt(4) != '-' || text.charAt(7) != '-') {
      throw new IllegalStateException("not a ClickHouse date: " + text);
    }
    return LocalDate.of(
        Integer.parseInt(text, 0, 4, 10),
        Integer.parseInt(text, 5, 7, 10),
        Integer.parseInt(text, 8, 10, 10));
  }

  @SafeVarargs
  private static List<String> concat(List<String>... lists) {
    List<String> all = new ArrayList<>();
    for (List<String> list : lists) {
      all.addAll(list);
    }
    return List.copyOf(all);
  }
}
