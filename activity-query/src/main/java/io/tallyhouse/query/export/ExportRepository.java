package io.tallyhouse.query.export;

import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.JsonEachRowText;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.query.activity.ActivityRepository;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

/**
 * The export's SQL: one keyset page of {@code usage_daily FINAL} totals per group, ordered by the
 * group columns. Every value reaches the statement through {@link SqlLiteral}; column names come
 * from {@link ExportRequest.Group}.
 */
public final class ExportRepository {

  private final ClickHouse clickHouse;
  private final MeterRegistry metrics;

  public ExportRepository(ClickHouse clickHouse, MeterRegistry metrics) {
    this.clickHouse = clickHouse;
    this.metrics = metrics;
  }

  /**
   * Up to {@code limit} rows of {@code request} for {@code account} strictly after {@code
   * request.after()} in the order of {@link ExportRequest#groupColumns()} (ClickHouse compares
   * strings bytewise, the same in ORDER BY and in the keyset condition).
   */
  public List<ExportRow> page(String account, ExportRequest request, int limit) {
    List<String> columns = request.groupColumns();
    List<String> selected = new ArrayList<>();
    for (String column : columns) {
      selected.add(column.equals("date") ? "day" : column);
    }
    selected.addAll(ActivityRepository.SUM_COLUMNS);
    JsonEachRowText reader = new JsonEachRowText(selected);
    byte[] rows =
        ActivityRepository.timed(
            metrics,
            "export",
            () -> clickHouse.queryJsonEachRow(exportSql(account, request, limit)));
    List<ExportRow> page = new ArrayList<>();
    reader.read(
        rows,
        row -> {
          List<String> values = new ArrayList<>(columns.size());
          for (String column : selected.subList(0, columns.size())) {
            values.add(reader.value(row, column));
          }
          // A row of several days names none: the error then names the request's range.
          Object day =
              columns.contains("date")
                  ? reader.value(row, "day")
                  : request.from() + ".." + request.to();
          BigInteger requests = integer(reader, row, "requests_sum");
          page.add(
              new ExportRow(
                  columns,
                  values,
                  requests,
                  integer(reader, row, "prompt_tokens_sum"),
                  integer(reader, row, "completion_tokens_sum"),
                  integer(reader, row, "reasoning_tokens_sum"),
                  integer(reader, row, "cached_tokens_sum"),
                  integer(reader, row, "byok_requests_sum"),
                  ActivityRepository.usage(reader, row, requests, account, day),
                  ActivityRepository.byokUsage(reader, row, requests, account, day)));
        });
    return page;
  }

  private static BigInteger integer(JsonEachRowText reader, String[] row, String column) {
    return new BigInteger(reader.value(row, column));
  }

  /**
   * The page's statement. The keyset condition is a tuple comparison, {@code (a, b) > (x, y)},
   * which 18.16 evaluates lexicographically (ExportApiIntegrationTest proves it on the server). It
   * filters on sort-key columns only, so it means the same before and after FINAL. Aliases never
   * repeat a column name (18.16).
   */
  static String exportSql(String account, ExportRequest request, int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be positive");
    }
    List<String> columns = request.groupColumns();
    StringBuilder sql = new StringBuilder("SELECT ");
    for (String column : columns) {
      sql.append(column.equals("date") ? "toString(date) AS day" : column).append(", ");
    }
    sql.append(ActivityRepository.SUMS)
        .append(" FROM usage_daily FINAL")
        .append(" WHERE account_id = ")
        .append(SqlLiteral.string(account))
        .append(" AND date >= ")
        .append(SqlLiteral.date(request.from()))
        .append(" AND date <= ")
        .append(SqlLiteral.date(request.to()));
    request
        .storedWorkspaceId()
        .ifPresent(w -> sql.append(" AND workspace_id = ").append(SqlLiteral.string(w)));
    request
        .apiKeyHash()
        .ifPresent(h -> sql.append(" AND api_key_hash = ").append(SqlLiteral.string(h)));
    request.userId().ifPresent(u -> sql.append(" AND user_id = ").append(SqlLiteral.string(u)));
    if (request.after().isPresent()) {
      List<String> after = request.after().get();
      if (after.size() != columns.size()) {
        throw new IllegalArgumentException("cursor values do not match the group columns");
      }
      StringBuilder left = new StringBuilder();
      StringBuilder right = new StringBuilder();
      for (int i = 0; i < columns.size(); i++) {
        if (i > 0) {
          left.append(", ");
          right.append(", ");
        }
        left.append(columns.get(i));
        right.append(
            columns.get(i).equals("date")
                ? SqlLiteral.date(LocalDate.parse(after.get(i)))
                : SqlLiteral.string(after.get(i)));
      }
      sql.append(" AND (").append(left).append(") > (").append(right).append(')');
    }
    String keys = String.join(", ", columns);
    sql.append(" GROUP BY ")
        .append(keys)
        .append(" ORDER BY ")
        .append(keys)
        .append(" LIMIT ")
        .append(limit);
    return sql.toString();
  }
}
