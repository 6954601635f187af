package io.tallyhouse.query;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * One completed UTC day of one account as the cache keeps it: the day's {@code usage_daily} rows summed over shards
 * (one per api key, user, endpoint), immutable, in compact arrays, plus the change marker it was loaded under. It
 * answers any activity request for its day in Java, with the same items the SQL path gives, and memoizes the
 * answers (as JSON text) of requests without {@code user_id}, because those read every row of the day (tens of
 * thousands for a large account) while a user's rows are few.
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
  static final int SCALE = 12;
  /** Days with fewer rows are summed for each request: microseconds, and no memory for a memo. */
  static final int MEMO_MIN_ROWS = 64;
  /**
   * A row of the arrays below takes about 100 bytes (three references, eight longs, its place in the user index), so a
   * memo is counted as one row per 100 characters of its text.
   */
  static final int CHARS_PER_ROW = 100;

  private final LocalDate date;
  private final long marker;
  private final Endpoint[] endpoints;
  private final String[] apiKeyHashes;
  /** {@code ''} for no user, as stored. */
  private final String[] userIds;
  private final long[] counts;
  /** Amounts at scale 12 as unscaled longs; {@link #bigMoney} holds the rows whose amounts do not fit (else null). */
  private final long[] usage;
  private final long[] byokUsage;
  private final BigDecimal[] bigMoney;

  /** The JSON text of aggregations already made, by {@link #json}. */
  private final Map<Memo, String> memo = new ConcurrentHashMap<>();
  private volatile Map<String, int[]> rowsByUser;

  /** Which aggregation of the day, for which api key filter (null: all keys). */
  private record Memo(boolean byUser, boolean byApiKey, String apiKeyHash) {}

  private CachedDay(LocalDate date, long marker, Builder rows) {
    this.date = date;
    this.marker = marker;
    int n = rows.size;
    this.endpoints = Arrays.copyOf(rows.endpoints, n);
    this.apiKeyHashes = Arrays.copyOf(rows.apiKeyHashes, n);
    this.userIds = Arrays.copyOf(rows.userIds, n);
    this.counts = Arrays.copyOf(rows.counts, n * COUNTS);
    this.usage = Arrays.copyOf(rows.usage, n);
    this.byokUsage = Arrays.copyOf(rows.byokUsage, n);
    this.bigMoney = rows.bigMoney == null ? null : Arrays.copyOf(rows.bigMoney, 2 * n);
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
    return aggregate(request, ignored -> { });
  }

  /**
   * {@link #items} as the JSON objects of the answer's {@code data} array separated by commas ("" for none). Requests
   * without {@code user_id}, except the grouping by user and key, read every row of the day, so their text is
   * memoized (for days of {@value #MEMO_MIN_ROWS} rows or more); {@code memoized} is told what a new memo weighs in
   * rows, so the cache can count it against its bound.
   */
  String json(ActivityRequest request, IntConsumer memoized) {
    if (rows() < MEMO_MIN_ROWS || request.userId().isPresent() || request.groupByUser() && request.groupByApiKey()) {
      // A small day or a user's rows are quickly summed; the grouping by user and key has about one item per row, so
      // a memo would take more memory than the day and save little.
      return ActivityItem.jsonObjects(aggregate(request, memoized), request.groupByUser(), request.groupByApiKey());
    }
    Memo key = new Memo(request.groupByUser(), request.groupByApiKey(), request.apiKeyHash().orElse(null));
    String known = memo.get(key);
    if (known != null) {
      return known;
    }
    List<ActivityItem> items = aggregate(request, memoized);
    String json = ActivityItem.jsonObjects(items, request.groupByUser(), request.groupByApiKey());
    if (memo.putIfAbsent(key, json) == null) {
      memoized.accept(1 + json.length() / CHARS_PER_ROW);
    }
    return json;
  }

  /** The items of {@code request}: a user's rows from the per-user index (built once), else every row. */
  private List<ActivityItem> aggregate(ActivityRequest request, IntConsumer memoized) {
    String apiKeyHash = request.apiKeyHash().orElse(null);
    Optional<String> user = request.userId();
    if (user.isPresent()) {
      int[] rows = rowsOfUser(user.get(), memoized);
      return aggregate(rows, rows.length, apiKeyHash, request.groupByUser(), request.groupByApiKey());
    }
    return aggregate(null, rows(), apiKeyHash, request.groupByUser(), request.groupByApiKey());
  }

  private int[] rowsOfUser(String user, IntConsumer memoized) {
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
          memoized.accept(built.size());
        }
        index = rowsByUser;
      }
    }
    int[] rows = index.get(user);
    return rows == null ? new int[0] : rows;
  }

  /** Group key of one item: the endpoint, plus the user and key when grouped by them (else null). */
  private record Group(Endpoint endpoint, String userId, String apiKeyHash) {}

  /**
   * Sums the rows ({@code selected[0..n)}, or all rows when {@code selected} is null) of {@code apiKeyHash} (all when
   * null) per endpoint and the requested groupings, exactly as the activity statement's GROUP BY does: counts wrap
   * like ClickHouse's UInt64 sums, amounts are exact.
   */
  private List<ActivityItem> aggregate(int[] selected, int n, String apiKeyHash, boolean byUser, boolean byApiKey) {
    Map<Group, Sum> groups = new LinkedHashMap<>();
    for (int s = 0; s < n; s++) {
      int row = selected == null ? s : selected[s];
      if (apiKeyHash != null && !apiKeyHash.equals(apiKeyHashes[row])) {
        continue;
      }
      Group group = new Group(endpoints[row], byUser ? userIds[row] : null, byApiKey ? apiKeyHashes[row] : null);
      groups.computeIfAbsent(group, g -> new Sum()).add(this, row);
    }
    List<ActivityItem> items = new ArrayList<>(groups.size());
    groups.forEach((group, sum) -> items.add(sum.toItem(date, group)));
    items.sort(ActivityItem.ORDER);
    return List.copyOf(items);
  }

  /** The running totals of one item. */
  private static final class Sum {
    private final long[] counts = new long[COUNTS];
    private final Money usage = new Money();
    private final Money byokUsage = new Money();

    void add(CachedDay day, int row) {
      for (int c = 0; c < COUNTS; c++) {
        counts[c] += day.counts[row * COUNTS + c]; // wraps modulo 2^64, as sum(UInt64) does
      }
      if (day.bigMoney != null && day.bigMoney[2 * row] != null) {
        usage.add(day.bigMoney[2 * row]);
        byokUsage.add(day.bigMoney[2 * row + 1]);
      } else {
        usage.add(day.usage[row]);
        byokUsage.add(day.byokUsage[row]);
      }
    }

    ActivityItem toItem(LocalDate date, Group group) {
      Endpoint endpoint = group.endpoint();
      String user = group.userId() == null || group.userId().isEmpty() ? null : group.userId();
      return new ActivityItem(date, endpoint.model(), endpoint.modelPermaslug(), endpoint.endpointId(),
          endpoint.providerName(), user, group.apiKeyHash(), usage.value(), byokUsage.value(),
          unsigned(counts[REQUESTS]), unsigned(counts[PROMPT]), unsigned(counts[COMPLETION]),
          unsigned(counts[REASONING]), unsigned(counts[CACHED]), unsigned(counts[BYOK_REQUESTS]));
    }
  }

  /** An exact sum at scale 12: a long while it fits, a BigInteger after. */
  private static final class Money {
    private long unscaled;
    private BigInteger big;

    void add(long value) {
      if (big == null) {
        long sum = unscaled + value;
        // Overflow iff both operands have the sign the sum lacks.
        if (((unscaled ^ sum) & (value ^ sum)) >= 0) {
          unscaled = sum;
          return;
        }
        big = BigInteger.valueOf(unscaled);
      }
      big = big.add(BigInteger.valueOf(value));
    }

    void add(BigDecimal value) {
      if (big == null) {
        big = BigInteger.valueOf(unscaled);
      }
      big = big.add(value.setScale(SCALE).unscaledValue());
    }

    BigDecimal value() {
      return big == null ? BigDecimal.valueOf(unscaled, SCALE) : new BigDecimal(big, SCALE);
    }
  }

  static BigInteger unsigned(long bits) {
    return bits >= 0 ? BigInteger.valueOf(bits) : new BigInteger(Long.toUnsignedString(bits));
  }

  /**
   * Collects the rows of the days of one load. Strings and endpoints are shared across the load's days, so an
   * account's keys, users and endpoints are stored once however many rows name them.
   */
  static final class Days {
    private final Map<String, String> strings = new HashMap<>();
    private final Map<Endpoint, Endpoint> endpoints = new HashMap<>();
    private final Map<LocalDate, Builder> days = new HashMap<>();
    private long rows;

    /**
     * One row of {@code date}: its group and sums as ClickHouse returned them (decimal text of any scale up to 12,
     * UInt64 text).
     */
    void add(LocalDate date, String apiKeyHash, String userId, String endpointId, String model, String modelPermaslug,
        String providerName, String[] countsText, String usageText, String byokUsageText) {
      Endpoint endpoint = new Endpoint(intern(endpointId), intern(model), intern(modelPermaslug), intern(providerName));
      Endpoint shared = endpoints.putIfAbsent(endpoint, endpoint);
      long[] parsed = new long[COUNTS];
      for (int c = 0; c < COUNTS; c++) {
        parsed[c] = Long.parseUnsignedLong(countsText[c]);
      }
      days.computeIfAbsent(date, d -> new Builder()).add(shared == null ? endpoint : shared, intern(apiKeyHash),
          intern(userId), parsed, new BigDecimal(usageText), new BigDecimal(byokUsageText));
      rows++;
    }

    long rows() {
      return rows;
    }

    /** The day {@code date} under {@code marker}; a day without rows is an empty day, cached like any other. */
    CachedDay day(LocalDate date, long marker) {
      return new CachedDay(date, marker, days.getOrDefault(date, new Builder()));
    }

    private String intern(String value) {
      String known = strings.putIfAbsent(value, value);
      return known == null ? value : known;
    }
  }

  /** The growing arrays of one day. */
  private static final class Builder {
    private int size;
    private Endpoint[] endpoints = new Endpoint[16];
    private String[] apiKeyHashes = new String[16];
    private String[] userIds = new String[16];
    private long[] counts = new long[16 * COUNTS];
    private long[] usage = new long[16];
    private long[] byokUsage = new long[16];
    private BigDecimal[] bigMoney;

    void add(Endpoint endpoint, String apiKeyHash, String userId, long[] rowCounts, BigDecimal rowUsage,
        BigDecimal rowByokUsage) {
      if (size == endpoints.length) {
        int capacity = size * 2;
        endpoints = Arrays.copyOf(endpoints, capacity);
        apiKeyHashes = Arrays.copyOf(apiKeyHashes, capacity);
        userIds = Arrays.copyOf(userIds, capacity);
        counts = Arrays.copyOf(counts, capacity * COUNTS);
        usage = Arrays.copyOf(usage, capacity);
        byokUsage = Arrays.copyOf(byokUsage, capacity);
        if (bigMoney != null) {
          bigMoney = Arrays.copyOf(bigMoney, capacity * 2);
        }
      }
      endpoints[size] = endpoint;
      apiKeyHashes[size] = apiKeyHash;
      userIds[size] = userId;
      System.arraycopy(rowCounts, 0, counts, size * COUNTS, COUNTS);
      // Scale 12 is exact for Decimal(38, 12); current ClickHouse prints fewer digits, 18.16 all twelve.
      BigInteger usageUnscaled = rowUsage.setScale(SCALE).unscaledValue();
      BigInteger byokUnscaled = rowByokUsage.setScale(SCALE).unscaledValue();
      if (usageUnscaled.bitLength() < 64 && byokUnscaled.bitLength() < 64) {
        usage[size] = usageUnscaled.longValue();
        byokUsage[size] = byokUnscaled.longValue();
      } else {
        // More than about 9.2 million USD in one row: rare enough to keep as objects beside the arrays.
        if (bigMoney == null) {
          bigMoney = new BigDecimal[endpoints.length * 2];
        }
        bigMoney[2 * size] = rowUsage.setScale(SCALE);
        bigMoney[2 * size + 1] = rowByokUsage.setScale(SCALE);
      }
      size++;
    }
  }
}
