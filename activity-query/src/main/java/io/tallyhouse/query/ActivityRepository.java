package io.tallyhouse.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
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
    List<ActivityItem> items = new ArrayList<>();
    for (JsonNode row : timed(metrics, "activity", () -> clickHouse.query(activitySql(account, request)))) {
      items.add(toItem(row, request));
    }
    // ClickHouse 18.16 orders decimals through floats; BigDecimal order is exact.
    items.sort(ActivityItem.ORDER);
    return items;
  }

  static String apiKeyKnownSql(String account, String apiKeyHash) {
    return "SELECT 1 AS found FROM api_key_hashes WHERE account_id = " + SqlLiteral.string(account)
        + " AND api_key_hash = " + SqlLiteral.string(apiKeyHash) + " LIMIT 1";
  }

  /**
   * Sums the rollup rows of the window per (date, endpoint, model, permaslug, provider) and the requested
   * groupings. FINAL keeps only the highest version of each rollup row even before parts merge. Aliases
   * never repeat a column name: on 18.16 {@code sum(requests) AS requests} breaks the query.
   */
  static String activitySql(String account, ActivityRequest request) {
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

  private static ActivityItem toItem(JsonNode row, ActivityRequest request) {
    String user = null;
    if (request.groupByUser()) {
      String stored = row.get("user_id").asText();
      user = stored.isEmpty() ? null : stored;
    }
    return new ActivityItem(
        LocalDate.parse(row.get("day").asText()),
        row.get("model").asText(),
        row.get("model_permaslug").asText(),
        row.get("endpoint_id").asText(),
        row.get("provider_name").asText(),
        user,
        request.groupByApiKey() ? row.get("api_key_hash").asText() : null,
        new BigDecimal(row.get("usage_sum").asText()),
        new BigDecimal(row.get("byok_usage_inference_sum").asText()),
        integer(row, "requests_sum"),
        integer(row, "prompt_tokens_sum"),
        integer(row, "completion_tokens_sum"),
        integer(row, "reasoning_tokens_sum"),
        integer(row, "cached_tokens_sum"),
        integer(row, "byok_requests_sum"));
  }

  /** UInt64 arrives as a quoted string in JSONEachRow (and as a number on some servers): read its text. */
  static BigInteger integer(JsonNode row, String name) {
    return new BigInteger(row.get(name).asText());
  }
}
