package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * Requests and exact cost per account and workspace, as "requests cost" keyed "account workspace":
 * added up from the distinct events sent (the oracle), and read from usage_daily or usage_events.
 */
final class WorkspaceTotals {

  private WorkspaceTotals() {}

  /**
   * The totals of {@code distinct}, each event under {@code column} of its workspace id: {@code
   * Workspaces::stored} for usage_daily, the id itself for usage_events.
   */
  static Map<String, String> of(List<UsageEvent> distinct, UnaryOperator<String> column) {
    Map<String, long[]> requests = new TreeMap<>();
    Map<String, BigDecimal> cost = new TreeMap<>();
    for (UsageEvent e : distinct) {
      String key = e.getAccountId() + " " + column.apply(e.getWorkspaceId());
      requests.computeIfAbsent(key, k -> new long[1])[0]++;
      cost.merge(key, e.getCost(), BigDecimal::add);
    }
    Map<String, String> totals = new TreeMap<>();
    requests.forEach(
        (key, n) ->
            totals.put(key, n[0] + " " + cost.get(key).setScale(Money.SCALE).toPlainString()));
    return totals;
  }

  /** The totals of {@code table} (usage_daily or usage_events), read with FINAL. */
  static Map<String, String> in(ClickHouse clickHouse, String table) {
    boolean daily = table.equals("usage_daily");
    Map<String, String> totals = new TreeMap<>();
    clickHouse
        .query(
            "SELECT account_id, workspace_id, "
                + (daily ? "sum(requests)" : "count()")
                + " AS n, toString(sum("
                + (daily ? "usage" : "cost")
                + ")) AS money FROM "
                + table
                + " FINAL GROUP BY account_id, workspace_id")
        .forEach(
            row ->
                totals.put(
                    row.get("account_id").asText() + " " + row.get("workspace_id").asText(),
                    row.get("n").asLong()
                        + " "
                        + new BigDecimal(row.get("money").asText())
                            .setScale(Money.SCALE)
                            .toPlainString()));
    return totals;
  }
}
