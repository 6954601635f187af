package io.tallyhouse.tools.reconcile;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;

/**
 * Rows of usage_events and usage_daily holding what reconcile sums (the other columns take their
 * defaults), written straight into ClickHouse: reconcile checks the tables, whoever wrote them.
 */
final class UsageRows {

  /**
   * One distinct event: 10 prompt, 20 completion, 3 reasoning and 4 cached tokens; {@code
   * workspace} as shown (the event's value).
   */
  record Event(
      String account,
      LocalDate day,
      String id,
      BigDecimal cost,
      boolean byok,
      BigDecimal byokCost,
      String workspace) {

    static Event of(String account, String day, String id, String cost) {
      return new Event(
          account,
          LocalDate.parse(day),
          id,
          new BigDecimal(cost),
          false,
          BigDecimal.ZERO,
          Workspaces.DEFAULT);
    }

    Event withByok(String byokCost) {
      return new Event(account, day, id, cost, true, new BigDecimal(byokCost), workspace);
    }

    Event inWorkspace(String workspaceId) {
      return new Event(account, day, id, cost, byok, byokCost, workspaceId);
    }
  }

  private static final List<String> EVENT_COLUMNS =
      List.of(
          "date",
          "account_id",
          "workspace_id",
          "event_id",
          "prompt_tokens",
          "completion_tokens",
          "reasoning_tokens",
          "cached_tokens",
          "cost",
          "is_byok",
          "byok_cost");
  private static final List<String> ROLLUP_COLUMNS =
      List.of(
          "account_id",
          "date",
          "workspace_id",
          "user_id",
          "shard",
          "requests",
          "prompt_tokens",
          "completion_tokens",
          "reasoning_tokens",
          "cached_tokens",
          "usage",
          "byok_usage_inference",
          "byok_requests",
          "version");

  private final TabSeparated events = new TabSeparated(1 << 16);
  private final TabSeparated rollups = new TabSeparated(1 << 16);

  /** The usage_events row of each of {@code distinct}. */
  UsageRows events(List<Event> distinct) {
    for (Event e : distinct) {
      events
          .date(e.day())
          .string(e.account())
          .string(e.workspace())
          .string(e.id())
          .number(10)
          .number(20)
          .number(3)
          .number(4)
          .decimal(e.cost())
          .number(e.byok() ? 1 : 0)
          .decimal(e.byokCost())
          .endRow();
    }
    return this;
  }

  /**
   * The usage_daily row of {@code group} (a user) counted by {@code shard}: the totals of {@code
   * counted}, in their workspace as usage_daily stores it.
   */
  UsageRows rollup(String group, int shard, List<Event> counted) {
    Event any = counted.get(0);
    long n = counted.size();
    BigDecimal usage = counted.stream().map(Event::cost).reduce(BigDecimal.ZERO, BigDecimal::add);
    BigDecimal byok =
        counted.stream().map(Event::byokCost).reduce(BigDecimal.ZERO, BigDecimal::add);
    long byokRequests = counted.stream().filter(Event::byok).count();
    rollups
        .string(any.account())
        .date(any.day())
        .string(Workspaces.stored(any.workspace()))
        .string(group)
        .number(shard)
        .number(n)
        .number(10 * n)
        .number(20 * n)
        .number(3 * n)
        .number(4 * n)
        .decimal(usage)
        .decimal(byok)
        .number(byokRequests)
        .number(n)
        .endRow();
    return this;
  }

  /** Inserts the rows gathered so far and forgets them. */
  void insert(ClickHouse clickHouse) {
    if (events.size() > 0) {
      clickHouse.insertTabSeparated("usage_events", EVENT_COLUMNS, events.toByteArray());
    }
    if (rollups.size() > 0) {
      clickHouse.insertTabSeparated("usage_daily", ROLLUP_COLUMNS, rollups.toByteArray());
    }
    events.clear();
    rollups.clear();
  }
}
