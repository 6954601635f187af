package io.tallyhouse.query.cache;

import io.tallyhouse.query.activity.ActivityItem;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.json.JsonBytes;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * One completed UTC day of one account as the cache keeps it: the day's {@code usage_daily} rows
 * summed over shards (one per workspace, api key, user, endpoint) in compact immutable columns, the
 * change marker it was loaded under, and the answers it memoized. It answers any activity request
 * for its day with the items the SQL path gives ({@link DaySums} groups, {@link ItemJson} writes),
 * and memoizes the JSON of requests without {@code user_id}, because those read every row of the
 * day (tens of thousands for a large account) while a user's rows are few.
 */
final class CachedDay {

  /** The four columns that name an endpoint; one instance per distinct endpoint of a load. */
  record Endpoint(String endpointId, String model, String modelPermaslug, String providerName) {}

  /** Counts per row, in this order; UInt64 as the bits of a long. */
  static final int REQUESTS = 0;

  static final int PROMPT = 1;
  static final int COMPLETION = 2;
  static final int REASONING = 3;
  static final int CACHED = 4;
  static final int BYOK_REQUESTS = 5;
  static final int COUNTS = 6;

  /** Days with fewer rows are summed for each request: microseconds, and no memory for a memo. */
  static final int MEMO_MIN_ROWS = 64;

  final LocalDate date;
  private final long marker;
  final Endpoint[] endpoints;

  /** As stored: {@code ''} for the default workspace ({@code Workspaces.STORED_DEFAULT}). */
  final String[] workspaceIds;

  final String[] apiKeyHashes;

  /** {@code ''} for no user, as stored. */
  final String[] userIds;

  final long[] counts;

  /**
   * Amounts at scale 12 as unscaled longs; {@link #bigMoney} holds the rows whose amounts do not
   * fit (else null).
   */
  final long[] usage;

  final long[] byokUsage;
  final BigDecimal[] bigMoney;

  /**
   * The JSON of each row's strings, shared by the rows of a load that have the same: the endpoint's
   * four fields ({@code "model":...,"provider_name":"..."}), the workspace as the API shows it, the
   * user as the value of {@code user_id} ({@code null} for no user) and the api key hash, each a
   * JSON value.
   */
  final byte[][] endpointJson;

  final byte[][] workspaceJson;

  final byte[][] userJson;
  final byte[][] apiKeyHashJson;

  /** {@code {"date":"YYYY-MM-DD",}, the start of each of the day's items. */
  final byte[] itemStart;

  /** The UTF-8 JSON of aggregations already made, by {@link #json}. */
  private final Map<Memo, Memoized> memo = new ConcurrentHashMap<>();

  private volatile Map<String, int[]> rowsByUser;

  /**
   * Estimated heap bytes of the arrays and of what they point to, without memos and the user index.
   */
  private final long footprint;

  /** Which aggregation of the day, for which workspace (stored) and api key filters (null: all). */
  private record Memo(ActivityRequest.Grouping grouping, String workspaceId, String apiKeyHash) {}

  /** A memoized answer: its JSON objects and how many items they are. */
  private record Memoized(byte[] json, int items) {}

  CachedDay(LocalDate date, long marker, DayLoad.Rows rows) {
    this.date = date;
    this.marker = marker;
    int n = rows.size;
    this.endpoints = Arrays.copyOf(rows.endpoints, n);
    this.workspaceIds = Arrays.copyOf(rows.workspaceIds, n);
    this.apiKeyHashes = Arrays.copyOf(rows.apiKeyHashes, n);
    this.userIds = Arrays.copyOf(rows.userIds, n);
    this.counts = Arrays.copyOf(rows.counts, n * COUNTS);
    this.usage = Arrays.copyOf(rows.usage, n);
    this.byokUsage = Arrays.copyOf(rows.byokUsage, n);
    this.bigMoney = rows.bigMoney == null ? null : Arrays.copyOf(rows.bigMoney, 2 * n);
    this.endpointJson = Arrays.copyOf(rows.endpointJson, n);
    this.workspaceJson = Arrays.copyOf(rows.workspaceJson, n);
    this.userJson = Arrays.copyOf(rows.userJson, n);
    this.apiKeyHashJson = Arrays.copyOf(rows.apiKeyHashJson, n);
    this.itemStart = ("{\"date\":\"" + date + "\",").getBytes(StandardCharsets.US_ASCII);
    this.footprint = HeapEstimate.of(this);
  }

  /**
   * Estimated heap bytes of this day as loaded; memos and the user index are reported as they are
   * added.
   */
  long footprint() {
    return footprint;
  }

  LocalDate date() {
    return date;
  }

  /** The sum of {@code usage_daily_changes.inserts} of this day when it was loaded. */
  long marker() {
    return marker;
  }

  int rows() {
    return endpoints.length;
  }

  /** The items of {@code request} for this day, in {@link ActivityItem#ORDER}. */
  List<ActivityItem> items(ActivityRequest request) {
    List<ActivityItem> items = new ArrayList<>();
    for (DaySums.Sum sum : sums(request, ignored -> {})) {
      items.add(sum.toItem(date));
    }
    items.sort(ActivityItem.ORDER);
    return List.copyOf(items);
  }

  /**
   * Appends {@link #items} to {@code out} as the JSON objects of the answer's {@code data} array,
   * separated by commas, and preceded by one when {@code separate} and there is an item; returns
   * how many items it appended. Requests without {@code user_id}, except the groupings by user and
   * key, read every row of the day, so their bytes are memoized (for days of {@value
   * #MEMO_MIN_ROWS} rows or more); {@code memoized} is told the estimated bytes of a new memo or
   * user index, so the cache can count them against its bound.
   */
  int json(ActivityRequest request, JsonBytes out, boolean separate, LongConsumer memoized) {
    ActivityRequest.Grouping grouping = request.grouping();
    if (rows() < MEMO_MIN_ROWS
        || request.userId().isPresent()
        || grouping.user() && grouping.apiKey()) {
      // A small day or a user's rows are quickly summed; the groupings by user and key have about
      // one item per row, so a memo would take more memory than the day and save little.
      return ItemJson.write(this, sums(request, memoized), grouping, out, separate);
    }
    Memo key =
        new Memo(
            grouping, request.storedWorkspaceId().orElse(null), request.apiKeyHash().orElse(null));
    Memoized known = memo.get(key);
    if (known == null) {
      JsonBytes fresh = new JsonBytes();
      int items = ItemJson.write(this, sums(request, memoized), grouping, fresh, false);
      known = new Memoized(fresh.toByteArray(), items);
      if (memo.putIfAbsent(key, known) == null) {
        memoized.accept(HeapEstimate.memo(known.json()));
      }
    }
    if (known.items() > 0) {
      if (separate) {
        out.append(',');
      }
      out.append(known.json());
    }
    return known.items();
  }

  /**
   * The sums of {@code request}'s items, in no particular order: a user's rows from the per-user
   * index.
   */
  private Iterable<DaySums.Sum> sums(ActivityRequest request, LongConsumer memoized) {
    Optional<String> user = request.userId();
    if (user.isPresent()) {
      int[] rows = rowsOfUser(user.get(), memoized);
      return DaySums.of(this, rows, rows.length, request);
    }
    return DaySums.of(this, null, rows(), request);
  }

  /**
   * The rows of {@code user}, from the per-user index built on the first request that names a user.
   */
  private int[] rowsOfUser(String user, LongConsumer memoized) {
    Map<String, int[]> index = rowsByUser;
    if (index == null) {
      Map<String, List<Integer>> lists = new HashMap<>();
      for (int i = 0; i < rows(); i++) {
        lists.computeIfAbsent(userIds[i], u -> new ArrayList<>()).add(i);
      }
      Map<String, int[]> built = new HashMap<>(lists.size() * 2);
      lists.forEach((u, rows) -> built.put(u, rows.stream().mapToInt(Integer::intValue).toArray()));
      synchronized (this) {
        if (rowsByUser == null) {
          rowsByUser = built;
          memoized.accept(HeapEstimate.userIndex(built));
        }
        index = rowsByUser;
      }
    }
    int[] rows = index.get(user);
    return rows == null ? new int[0] : rows;
  }
}
