package io.tallyhouse.query.cache;

import io.tallyhouse.query.activity.ActivityItem;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;

/**
 * The activity statement's GROUP BY in Java over one cached day: sums per endpoint and the
 * requested groupings, with counts wrapping like ClickHouse's UInt64 sums and exact amounts, in the
 * contract's order.
 */
final class DaySums {

  private DaySums() {}

  /**
   * Group key of one item: the endpoint, plus the workspace (as stored), user and key when grouped
   * by them (else null).
   */
  record Group(CachedDay.Endpoint endpoint, String workspaceId, String userId, String apiKeyHash) {}

  /** {@link ActivityItem#ORDER} within one day, on the sums (no item is built to sort them). */
  static final Comparator<Sum> ORDER =
      Comparator.comparing((Sum sum) -> sum.usage)
          .reversed()
          .thenComparing(sum -> sum.group.endpoint().endpointId())
          .thenComparing(Sum::workspaceId, Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(Sum::userId, Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(
              sum -> sum.group.apiKeyHash(), Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(sum -> sum.group.endpoint().model())
          .thenComparing(sum -> sum.group.endpoint().modelPermaslug())
          .thenComparing(sum -> sum.group.endpoint().providerName());

  /**
   * Sums the rows ({@code selected[0..n)}, or all rows when {@code selected} is null) of {@code
   * day} that pass {@code request}'s workspace and api key filters, grouped as it asks, in no
   * particular order. The user filter is the caller's: it selects the rows.
   */
  static Collection<Sum> of(CachedDay day, int[] selected, int n, ActivityRequest request) {
    String workspaceId = request.storedWorkspaceId().orElse(null);
    String apiKeyHash = request.apiKeyHash().orElse(null);
    ActivityRequest.Grouping grouping = request.grouping();
    Map<Group, Sum> groups = new HashMap<>();
    for (int s = 0; s < n; s++) {
      int row = selected == null ? s : selected[s];
      if (workspaceId != null && !workspaceId.equals(day.workspaceIds[row])
          || apiKeyHash != null && !apiKeyHash.equals(day.apiKeyHashes[row])) {
        continue;
      }
      Group group =
          new Group(
              day.endpoints[row],
              grouping.workspace() ? day.workspaceIds[row] : null,
              grouping.user() ? day.userIds[row] : null,
              grouping.apiKey() ? day.apiKeyHashes[row] : null);
      Sum sum = groups.get(group);
      if (sum == null) {
        sum = new Sum(group, row);
        groups.put(group, sum);
      }
      sum.add(day, row);
    }
    return groups.values();
  }

  /** The running totals of one item, and the first row summed (whose strings name the item). */
  static final class Sum {
    final Group group;
    final int firstRow;
    final long[] counts = new long[CachedDay.COUNTS];
    final MoneySum usage = new MoneySum();
    final MoneySum byokUsage = new MoneySum();

    Sum(Group group, int firstRow) {
      this.group = group;
      this.firstRow = firstRow;
    }

    /** The item's workspace_id as the API shows it: null when not grouped by workspace. */
    String workspaceId() {
      return group.workspaceId() == null ? null : Workspaces.shown(group.workspaceId());
    }

    /** The item's user_id: null when not grouped by user and for no user. */
    String userId() {
      return group.userId() == null || group.userId().isEmpty() ? null : group.userId();
    }

    void add(CachedDay day, int row) {
      for (int c = 0; c < CachedDay.COUNTS; c++) {
        counts[c] +=
            day.counts[row * CachedDay.COUNTS + c]; // wraps modulo 2^64, as sum(UInt64) does
      }
      if (day.bigMoney != null && day.bigMoney[2 * row] != null) {
        usage.add(day.bigMoney[2 * row]);
        byokUsage.add(day.bigMoney[2 * row + 1]);
      } else {
        usage.add(day.usage[row]);
        byokUsage.add(day.byokUsage[row]);
      }
    }

    ActivityItem toItem(LocalDate date) {
      CachedDay.Endpoint endpoint = group.endpoint();
      return new ActivityItem(
          date,
          endpoint.model(),
          endpoint.modelPermaslug(),
          endpoint.endpointId(),
          endpoint.providerName(),
          workspaceId(),
          userId(),
          group.apiKeyHash(),
          usage.value(),
          byokUsage.value(),
          unsigned(counts[CachedDay.REQUESTS]),
          unsigned(counts[CachedDay.PROMPT]),
          unsigned(counts[CachedDay.COMPLETION]),
          unsigned(counts[CachedDay.REASONING]),
          unsigned(counts[CachedDay.CACHED]),
          unsigned(counts[CachedDay.BYOK_REQUESTS]));
    }
  }

  /** A UInt64 held in the bits of a long. */
  static BigInteger unsigned(long bits) {
    return bits >= 0 ? BigInteger.valueOf(bits) : new BigInteger(Long.toUnsignedString(bits));
  }
}
