package io.tallyhouse.tools.reconcile;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.JsonEachRowText;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.money.ImpossibleTotalException;
import io.tallyhouse.common.money.MoneyTotals;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.tools.ExitCodes;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

/**
 * Per account, UTC day and workspace, the sums of the raw table (usage_events, one row per distinct
 * event) against the rollups (usage_daily): the check behind {@code tallyhouse reconcile} ({@link
 * ReconcileCommand}), and the independent count the stream's own tests compare against. A group
 * whose money no legal events can sum to is a difference too ({@code IMPOSSIBLE}, see {@code
 * MoneyTotals}). Workspaces are compared as shown: usage_daily's '' is the workspace default
 * ({@link Workspaces#shown}), as usage_events spells it.
 */
public final class Reconcile {

  /** The sums compared for one account, day and workspace; money exact. */
  record Totals(
      long requests,
      long promptTokens,
      long completionTokens,
      long reasoningTokens,
      long cachedTokens,
      BigDecimal cost,
      BigDecimal byokCost,
      long byokRequests) {

    boolean sameAs(Totals other) {
      return other != null
          && requests == other.requests
          && promptTokens == other.promptTokens
          && completionTokens == other.completionTokens
          && reasoningTokens == other.reasoningTokens
          && cachedTokens == other.cachedTokens
          && cost.compareTo(other.cost) == 0
          && byokCost.compareTo(other.byokCost) == 0
          && byokRequests == other.byokRequests;
    }
  }

  private Reconcile() {}

  /**
   * Compares the days in [from, to] and prints the report to {@code out}; returns the exit code:
   * {@link ExitCodes#OK} when every (account, day, workspace) agrees, {@link ExitCodes#FINDING}
   * when one differs. A total no legal events can produce (negative, wrapped, above its count times
   * 10^9) is a difference too, printed with its account, day and workspace.
   */
  public static int run(ClickHouse clickHouse, LocalDate from, LocalDate to, PrintStream out) {
    String range =
        " WHERE date >= "
            + SqlLiteral.date(from)
            + " AND date <= "
            + SqlLiteral.date(to)
            + " GROUP BY account_id, date, workspace_id";
    // Aliases differ from column names: on 18.16 `sum(cost) AS cost` breaks the query.
    Map<String, String> impossible = new TreeMap<>();
    Map<String, Totals> raw =
        totals(
            clickHouse,
            "usage_events",
            "cost",
            "byok_cost",
            workspace -> workspace,
            "SELECT account_id, toString(date) AS day, workspace_id,"
                + " count() AS n, sum(prompt_tokens) AS p, sum(completion_tokens) AS c, sum(reasoning_tokens) AS r,"
                + " sum(cached_tokens) AS ca, "
                + MoneyTotals.sumSql("cost", "money")
                + ", "
                + MoneyTotals.sumSql("byok_cost", "byok_money")
                + ", sum(is_byok) AS byok_n FROM usage_events FINAL"
                + range,
            impossible);
    Map<String, Totals> rollup =
        totals(
            clickHouse,
            "usage_daily",
            "usage",
            "byok_usage_inference",
            Workspaces::shown,
            "SELECT account_id, toString(date) AS day, workspace_id,"
                + " sum(requests) AS n, sum(prompt_tokens) AS p, sum(completion_tokens) AS c, sum(reasoning_tokens) AS r,"
                + " sum(cached_tokens) AS ca, "
                + MoneyTotals.sumSql("usage", "money")
                + ", "
                + MoneyTotals.sumSql("byok_usage_inference", "byok_money")
                + ", sum(byok_requests) AS byok_n"
                + " FROM usage_daily FINAL"
                + range,
            impossible);
    TreeSet<String> keys = new TreeSet<>(raw.keySet());
    keys.addAll(rollup.keySet());
    keys.addAll(impossible.keySet());
    int differences = 0;
    for (String key : keys) {
      Totals r = raw.get(key);
      Totals u = rollup.get(key);
      if (impossible.containsKey(key)) {
        differences++;
        out.println("IMPOSSIBLE " + key.replace('\u001f', ' ') + "\n  " + impossible.get(key));
      } else if (r == null || !r.sameAs(u)) {
        differences++;
        out.println(
            "DIFF "
                + key.replace('\u001f', ' ')
                + "\n  usage_events: "
                + Objects.toString(r, "(none)")
                + "\n  usage_daily:  "
                + Objects.toString(u, "(none)"));
      }
    }
    if (differences == 0) {
      out.println(
          "reconciled: "
              + keys.size()
              + " account-day-workspaces from "
              + from
              + " to "
              + to
              + " agree");
      return ExitCodes.OK;
    }
    out.println(differences + " of " + keys.size() + " account-day-workspaces differ");
    return ExitCodes.FINDING;
  }

  private static final List<String> MONEY = MoneyTotals.aliases("money");
  private static final List<String> BYOK_MONEY = MoneyTotals.aliases("byok_money");
  private static final JsonEachRowText ROWS =
      new JsonEachRowText(
          concat(
              List.of("account_id", "day", "workspace_id", "n", "p", "c", "r", "ca", "byok_n"),
              MONEY,
              BYOK_MONEY));

  /**
   * The totals per account, day and workspace (as shown: {@code shown} maps the table's value) of
   * {@code sql}; a group whose money ({@code cost} and {@code byok}, the columns summed) is
   * impossible goes to {@code impossible} instead, with what is wrong in {@code table}.
   */
  private static Map<String, Totals> totals(
      ClickHouse clickHouse,
      String table,
      String cost,
      String byok,
      UnaryOperator<String> shown,
      String sql,
      Map<String, String> impossible) {
    Map<String, Totals> result = new TreeMap<>();
    ROWS.read(
        clickHouse.queryJsonEachRow(sql),
        row -> {
          String key =
              ROWS.value(row, "account_id")
                  + '\u001f'
                  + ROWS.value(row, "day")
                  + '\u001f'
                  + shown.apply(ROWS.value(row, "workspace_id"));
          BigInteger requests = new BigInteger(ROWS.value(row, "n"));
          try {
            result.put(
                key,
                new Totals(
                    requests.longValue(),
                    count(row, "p"),
                    count(row, "c"),
                    count(row, "r"),
                    count(row, "ca"),
                    money(row, cost, MONEY, requests),
                    money(row, byok, BYOK_MONEY, requests),
                    count(row, "byok_n")));
          } catch (ImpossibleTotalException e) {
            impossible.merge(key, table + ": " + e.getMessage(), (a, b) -> a + "\n  " + b);
          }
        });
    return result;
  }

  private static BigDecimal money(
      String[] row, String field, List<String> aliases, BigInteger requests) {
    return MoneyTotals.total(
        field,
        ROWS.value(row, aliases.get(0)),
        ROWS.value(row, aliases.get(1)),
        ROWS.value(row, aliases.get(2)),
        ROWS.value(row, aliases.get(3)),
        requests);
  }

  /** A UInt64 sum, as the bits of a long. */
  private static long count(String[] row, String column) {
    return Long.parseUnsignedLong(ROWS.value(row, column));
  }

  private static List<String> concat(List<String> first, List<String> second, List<String> third) {
    List<String> all = new ArrayList<>(first);
    all.addAll(second);
    all.addAll(third);
    return all;
  }
}
