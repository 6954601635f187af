package io.tallyhouse.query;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * One completed UTC day of one account as the cache keeps it: the day's {@code usage_daily} rows summed over shards
 * (one per api key, user, endpoint), immutable, in compact arrays, plus the change marker it was loaded under. It
 * answers any activity request for its day in Java, with the same items the SQL path gives, and memoizes the
 * answers (as JSON text) of requests without {@code user_id}, because those read every row of the day (tens of
 * thousands for a large account) while a user's rows are few. Answers that are not memoized are written straight from
 * the sums, with the strings' JSON made once per load, byte for byte as {@link ActivityItem#jsonObjects} writes them.
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
   * Heap sizes the footprint is estimated with, on the high side for a 64-bit JVM: object headers of 16 bytes and
   * references of 8 (4 with compressed oops), so the cache's bound is never exceeded by the estimate being low.
   */
  static final int HEADER = 16;
  static final int REF = 8;
  /** A String object without its array (header, hash, coder, the array reference). */
  static final int STRING = 32;
  /** An Endpoint record: header and four references. */
  static final int ENDPOINT = HEADER + 4 * REF;
  /** A BigDecimal with its BigInteger and magnitude array (rows of more than about 9.2 million USD). */
  static final int BIG_DECIMAL = 112;
  /** A memo's map node, key and value records beside its bytes; and a user's node in the per-user index. */
  static final int MEMO_ENTRY = 128;
  static final int USER_INDEX_ENTRY = 64;
  /** This object's fields, its date and its empty memo map. */
  static final int DAY = 256;

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
  /**
   * The JSON of each row's strings, shared by the rows of a load that have the same: the endpoint's four fields
   * ({@code "model":...,"provider_name":"..."}), the user as the value of {@code user_id} ({@code null} for no user)
   * and the api key hash as a JSON string.
   */
  private final byte[][] endpointJson;
  private final byte[][] userJson;
  private final byte[][] apiKeyHashJson;
  /** {@code {"date":"YYYY-MM-DD",}, the start of each of the day's items. */
  private final byte[] itemStart;

  /** The UTF-8 JSON of aggregations already made, by {@link #json}. */
  private final Map<Memo, Memoized> memo = new ConcurrentHashMap<>();
  private volatile Map<String, int[]> rowsByUser;
  /** Estimated heap bytes of the arrays and of what they point to, without memos and the user index. */
  private final long footprint;

  /** Which aggregation of the day, for which api key filter (null: all keys). */
  private record Memo(boolean byUser, boolean byApiKey, String apiKeyHash) {}

  /** A memoized answer: its JSON objects and how many items they are. */
  private record Memoized(byte[] json, int items) {}

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
    this.endpointJson = Arrays.copyOf(rows.endpointJson, n);
    this.userJson = Arrays.copyOf(rows.userJson, n);
    this.apiKeyHashJson = Arrays.copyOf(rows.apiKeyHashJson, n);
    this.itemStart = ("{\"date\":\"" + date + "\",").getBytes(StandardCharsets.US_ASCII);
    this.footprint = estimateFootprint();
  }

  /**
   * The arrays plus every distinct string, endpoint and JSON text the rows point to, at their real lengths (a 256
   * character user id weighs what it takes). The strings of one load are shared by its days, but each day counts those
   * it points to, so a day evicted alone never leaves them uncounted: an upper bound.
   */
  private long estimateFootprint() {
    int n = rows();
    long bytes = DAY + array(itemStart.length, 1);
    bytes += 6 * array(n, REF) + array(n * COUNTS, 8) + 2 * array(n, 8);
    if (bigMoney != null) {
      bytes += array(bigMoney.length, REF);
      for (BigDecimal amount : bigMoney) {
        bytes += amount == null ? 0 : BIG_DECIMAL;
      }
    }
    Set<Object> counted = Collections.newSetFromMap(new IdentityHashMap<>());
    for (int i = 0; i < n; i++) {
      Endpoint endpoint = endpoints[i];
      if (counted.add(endpoint)) {
        bytes += ENDPOINT + string(endpoint.endpointId(), counted) + string(endpoint.model(), counted)
            + string(endpoint.modelPermaslug(), counted) + string(endpoint.providerName(), counted);
      }
      bytes += string(apiKeyHashes[i], counted) + string(userIds[i], counted);
      for (byte[] json : new byte[][] {endpointJson[i], userJson[i], apiKeyHashJson[i]}) {
        bytes += counted.add(json) ? array(json.length, 1) : 0;
      }
    }
    return bytes;
  }

  /** A string's bytes unless {@code counted} has it: one byte per character when all are Latin-1, else two. */
  private static long string(String value, Set<Object> counted) {
    if (!counted.add(value)) {
      return 0;
    }
    boolean latin1 = value.chars().allMatch(c -> c <= 0xFF);
    return STRING + array(value.length(), latin1 ? 1 : 2);
  }

  /** An array of {@code length} elements of {@code size} bytes, with its header, padded to 8 bytes. */
  static long array(long length, int size) {
    return (HEADER + length * size + 7) & ~7L;
  }

  /** Estimated heap bytes of this day as loaded; memos and the user index are reported as they are added. */
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
    return aggregate(request, ignored -> { });
  }

  /**
   * Appends {@link #items} to {@code out} as the JSON objects of the answer's {@code data} array, separated by commas,
   * and preceded by one when {@code separate} and there is an item; returns how many items it appended. Requests
   * without {@code user_id}, except the grouping by user and key, read every row of the day, so their bytes are
   * memoized (for days of {@value #MEMO_MIN_ROWS} rows or more); {@code memoized} is told the estimated bytes of a new
   * memo or user index, so the cache can count them against its bound.
   */
  int json(ActivityRequest request, JsonBytes out, boolean separate, LongConsumer memoized) {
    if (rows() < MEMO_MIN_ROWS || request.userId().isPresent() || request.groupByUser() && request.groupByApiKey()) {
      // A small day or a user's rows are quickly summed; the grouping by user and key has about one item per row, so
      // a memo would take more memory than the day and save little.
      return write(sums(request, memoized), request.groupByUser(), request.groupByApiKey(), out, separate);
    }
    Memo key = new Memo(request.groupByUser(), request.groupByApiKey(), request.apiKeyHash().orElse(null));
    Memoized known = memo.get(key);
    if (known == null) {
      JsonBytes fresh = new JsonBytes();
      int items = write(sums(request, memoized), request.groupByUser(), request.groupByApiKey(), fresh, false);
      known = new Memoized(fresh.toByteArray(), items);
      if (memo.putIfAbsent(key, known) == null) {
        memoized.accept(MEMO_ENTRY + array(known.json().length, 1));
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

  /** The items of {@code request}: a user's rows from the per-user index (built once), else every row. */
  private List<ActivityItem> aggregate(ActivityRequest request, LongConsumer memoized) {
    List<ActivityItem> items = new ArrayList<>();
    for (Sum sum : sums(request, memoized)) {
      items.add(sum.toItem(date));
    }
    items.sort(ActivityItem.ORDER);
    return List.copyOf(items);
  }

  /** The sums of {@code request}'s items, in no particular order. */
  private Iterable<Sum> sums(ActivityRequest request, LongConsumer memoized) {
    String apiKeyHash = request.apiKeyHash().orElse(null);
    Optional<String> user = request.userId();
    if (user.isPresent()) {
      int[] rows = rowsOfUser(user.get(), memoized);
      return sums(rows, rows.length, apiKeyHash, request.groupByUser(), request.groupByApiKey());
    }
    return sums(null, rows(), apiKeyHash, request.groupByUser(), request.groupByApiKey());
  }

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
          long bytes = HEADER + array(2L * built.size(), REF);
          for (int[] rows : built.values()) {
            bytes += USER_INDEX_ENTRY + array(rows.length, 4);
          }
          memoized.accept(bytes);
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
  private Iterable<Sum> sums(int[] selected, int n, String apiKeyHash, boolean byUser, boolean byApiKey) {
    Map<Group, Sum> groups = new HashMap<>();
    for (int s = 0; s < n; s++) {
      int row = selected == null ? s : selected[s];
      if (apiKeyHash != null && !apiKeyHash.equals(apiKeyHashes[row])) {
        continue;
      }
      Group group = new Group(endpoints[row], byUser ? userIds[row] : null, byApiKey ? apiKeyHashes[row] : null);
      Sum sum = groups.get(group);
      if (sum == null) {
        sum = new Sum(group, row);
        groups.put(group, sum);
      }
      sum.add(this, row);
    }
    return groups.values();
  }

  /** {@link ActivityItem#ORDER} within one day, on the sums (no item is built to sort them). */
  private static final Comparator<Sum> ORDER = Comparator
      .comparing((Sum sum) -> sum.usage).reversed()
      .thenComparing(sum -> sum.group.endpoint().endpointId())
      .thenComparing(Sum::userId, Comparator.nullsFirst(Comparator.naturalOrder()))
      .thenComparing(sum -> sum.group.apiKeyHash(), Comparator.nullsFirst(Comparator.naturalOrder()))
      .thenComparing(sum -> sum.group.endpoint().model())
      .thenComparing(sum -> sum.group.endpoint().modelPermaslug())
      .thenComparing(sum -> sum.group.endpoint().providerName());

  private static final byte[] USAGE = ascii(",\"usage\":");
  private static final byte[] BYOK_USAGE = ascii(",\"byok_usage_inference\":");
  private static final byte[][] COUNT_FIELDS = {ascii(",\"requests\":"), ascii(",\"prompt_tokens\":"),
      ascii(",\"completion_tokens\":"), ascii(",\"reasoning_tokens\":"), ascii(",\"cached_tokens\":"),
      ascii(",\"byok_requests\":")};
  private static final byte[] USER_ID = ascii(",\"user_id\":");
  private static final byte[] API_KEY_HASH = ascii(",\"api_key_hash\":");

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Writes the sums in the contract's order as {@link ActivityItem#jsonObjects} writes their items, preceded by a
   * comma when {@code separate} and there is one; returns how many.
   */
  private int write(Iterable<Sum> unordered, boolean byUser, boolean byApiKey, JsonBytes out, boolean separate) {
    List<Sum> sums = new ArrayList<>();
    unordered.forEach(sums::add);
    sums.sort(ORDER);
    for (Sum sum : sums) {
      if (separate) {
        out.append(',');
      }
      separate = true;
      int row = sum.firstRow;
      out.append(itemStart).append(endpointJson[row]);
      out.append(USAGE);
      sum.usage.writeTo(out);
      out.append(BYOK_USAGE);
      sum.byokUsage.writeTo(out);
      for (int c = 0; c < COUNTS; c++) {
        out.append(COUNT_FIELDS[c]).appendUnsigned(sum.counts[c]);
      }
      if (byUser) {
        out.append(USER_ID).append(userJson[row]);
      }
      if (byApiKey) {
        out.append(API_KEY_HASH).append(apiKeyHashJson[row]);
      }
      out.append('}');
    }
    return sums.size();
  }

  /** The running totals of one item, and the first row summed (whose strings name the item). */
  private static final class Sum {
    private final Group group;
    private final int firstRow;
    private final long[] counts = new long[COUNTS];
    private final Money usage = new Money();
    private final Money byokUsage = new Money();

    Sum(Group group, int firstRow) {
      this.group = group;
      this.firstRow = firstRow;
    }

    /** The item's user_id: null when not grouped by user and for no user. */
    String userId() {
      return group.userId() == null || group.userId().isEmpty() ? null : group.userId();
    }

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

    ActivityItem toItem(LocalDate date) {
      Endpoint endpoint = group.endpoint();
      return new ActivityItem(date, endpoint.model(), endpoint.modelPermaslug(), endpoint.endpointId(),
          endpoint.providerName(), userId(), group.apiKeyHash(), usage.value(), byokUsage.value(),
          unsigned(counts[REQUESTS]), unsigned(counts[PROMPT]), unsigned(counts[COMPLETION]),
          unsigned(counts[REASONING]), unsigned(counts[CACHED]), unsigned(counts[BYOK_REQUESTS]));
    }
  }

  /** An exact sum at scale 12: a long while it fits, a BigInteger after. */
  private static final class Money implements Comparable<Money> {
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

    void writeTo(JsonBytes out) {
      if (big == null) {
        out.appendMoney(unscaled);
      } else {
        out.appendMoney(value());
      }
    }

    @Override
    public int compareTo(Money other) {
      if (big == null && other.big == null) {
        return Long.compare(unscaled, other.unscaled);
      }
      return unscaledValue().compareTo(other.unscaledValue());
    }

    private BigInteger unscaledValue() {
      return big == null ? BigInteger.valueOf(unscaled) : big;
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
    private final Map<Endpoint, byte[]> endpointJson = new HashMap<>();
    private final Map<String, byte[]> stringJson = new HashMap<>();
    private final Map<LocalDate, Builder> days = new HashMap<>();
    private long rows;

    /**
     * One row of {@code date}: its group and sums as ClickHouse returned them (UInt64 text), the amounts already read
     * and checked ({@link io.tallyhouse.common.money.MoneyTotals}).
     */
    void add(LocalDate date, String apiKeyHash, String userId, String endpointId, String model, String modelPermaslug,
        String providerName, String[] countsText, BigDecimal usage, BigDecimal byokUsage) {
      Endpoint endpoint = new Endpoint(intern(endpointId), intern(model), intern(modelPermaslug), intern(providerName));
      Endpoint shared = endpoints.putIfAbsent(endpoint, endpoint);
      endpoint = shared == null ? endpoint : shared;
      byte[] endpointFields = endpointJson.computeIfAbsent(endpoint, e -> utf8("\"model\":" + quoted(e.model())
          + ",\"model_permaslug\":" + quoted(e.modelPermaslug()) + ",\"endpoint_id\":" + quoted(e.endpointId())
          + ",\"provider_name\":" + quoted(e.providerName())));
      long[] parsed = new long[COUNTS];
      for (int c = 0; c < COUNTS; c++) {
        parsed[c] = Long.parseUnsignedLong(countsText[c]);
      }
      days.computeIfAbsent(date, d -> new Builder()).add(endpoint, intern(apiKeyHash), intern(userId), parsed,
          usage, byokUsage, endpointFields,
          userId.isEmpty() ? NULL : json(userId), json(apiKeyHash));
      rows++;
    }

    /** A string as a JSON string value, once per distinct string of the load. */
    private byte[] json(String value) {
      return stringJson.computeIfAbsent(value, v -> utf8(quoted(v)));
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

  private static final byte[] NULL = ascii("null");

  /** {@code value} as a JSON string, escaped as the generator behind {@link ActivityItem#jsonObjects} escapes it. */
  static String quoted(String value) {
    return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(value)) + "\"";
  }

  /** As the answer's text is sent: UTF-8, a lone surrogate as '?'. */
  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
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
    private byte[][] endpointJson = new byte[16][];
    private byte[][] userJson = new byte[16][];
    private byte[][] apiKeyHashJson = new byte[16][];

    void add(Endpoint endpoint, String apiKeyHash, String userId, long[] rowCounts, BigDecimal rowUsage,
        BigDecimal rowByokUsage, byte[] rowEndpointJson, byte[] rowUserJson, byte[] rowApiKeyHashJson) {
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
        endpointJson = Arrays.copyOf(endpointJson, capacity);
        userJson = Arrays.copyOf(userJson, capacity);
        apiKeyHashJson = Arrays.copyOf(apiKeyHashJson, capacity);
      }
      endpointJson[size] = rowEndpointJson;
      userJson[size] = rowUserJson;
      apiKeyHashJson[size] = rowApiKeyHashJson;
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
