package io.tallyhouse.query.cache;

import io.tallyhouse.common.money.MoneyTotals;
import io.tallyhouse.query.json.JsonText;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Collects the rows of the days of one load into the columns of {@link CachedDay}. Strings,
 * endpoints and their JSON text are shared across the load's days, so an account's keys, users and
 * endpoints are stored once however many rows name them.
 */
public final class DayLoad {

  private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);

  private final Map<String, String> strings = new HashMap<>();
  private final Map<CachedDay.Endpoint, CachedDay.Endpoint> endpoints = new HashMap<>();
  private final Map<CachedDay.Endpoint, byte[]> endpointJson = new HashMap<>();
  private final Map<String, byte[]> stringJson = new HashMap<>();
  private final Map<LocalDate, Rows> days = new HashMap<>();
  private long rows;

  /**
   * One row of {@code date}: its group and sums as ClickHouse returned them (UInt64 text, the
   * workspace as stored, '' for the default one), the amounts already read and checked ({@link
   * MoneyTotals}).
   */
  void add(
      LocalDate date,
      String workspaceId,
      String apiKeyHash,
      String userId,
      String endpointId,
      String model,
      String modelPermaslug,
      String providerName,
      String[] countsText,
      BigDecimal usage,
      BigDecimal byokUsage) {
    CachedDay.Endpoint endpoint =
        new CachedDay.Endpoint(
            intern(endpointId), intern(model), intern(modelPermaslug), intern(providerName));
    CachedDay.Endpoint shared = endpoints.putIfAbsent(endpoint, endpoint);
    endpoint = shared == null ? endpoint : shared;
    byte[] endpointFields =
        endpointJson.computeIfAbsent(
            endpoint,
            e ->
                utf8(
                    "\"model\":"
                        + JsonText.quoted(e.model())
                        + ",\"model_permaslug\":"
                        + JsonText.quoted(e.modelPermaslug())
                        + ",\"endpoint_id\":"
                        + JsonText.quoted(e.endpointId())
                        + ",\"provider_name\":"
                        + JsonText.quoted(e.providerName())));
    long[] parsed = new long[CachedDay.COUNTS];
    for (int c = 0; c < CachedDay.COUNTS; c++) {
      parsed[c] = Long.parseUnsignedLong(countsText[c]);
    }
    days.computeIfAbsent(date, d -> new Rows())
        .add(
            endpoint,
            intern(workspaceId),
            intern(apiKeyHash),
            intern(userId),
            parsed,
            usage,
            byokUsage,
            endpointFields,
            json(Workspaces.shown(workspaceId)),
            userId.isEmpty() ? NULL : json(userId),
            json(apiKeyHash));
    rows++;
  }

  /** A string as a JSON string value, once per distinct string of the load. */
  private byte[] json(String value) {
    return stringJson.computeIfAbsent(value, v -> utf8(JsonText.quoted(v)));
  }

  long rows() {
    return rows;
  }

  /**
   * The day {@code date} under {@code marker}; a day without rows is an empty day, cached like any
   * other.
   */
  CachedDay day(LocalDate date, long marker) {
    return new CachedDay(date, marker, days.getOrDefault(date, new Rows()));
  }

  private String intern(String value) {
    String known = strings.putIfAbsent(value, value);
    return known == null ? value : known;
  }

  /** As the answer's text is sent: UTF-8, a lone surrogate as '?'. */
  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** The growing columns of one day. */
  static final class Rows {
    int size;
    CachedDay.Endpoint[] endpoints = new CachedDay.Endpoint[16];
    String[] workspaceIds = new String[16];
    String[] apiKeyHashes = new String[16];
    String[] userIds = new String[16];
    long[] counts = new long[16 * CachedDay.COUNTS];
    long[] usage = new long[16];
    long[] byokUsage = new long[16];
    BigDecimal[] bigMoney;
    byte[][] endpointJson = new byte[16][];
    byte[][] workspaceJson = new byte[16][];
    byte[][] userJson = new byte[16][];
    byte[][] apiKeyHashJson = new byte[16][];

    void add(
        CachedDay.Endpoint endpoint,
        String workspaceId,
        String apiKeyHash,
        String userId,
        long[] rowCounts,
        BigDecimal rowUsage,
        BigDecimal rowByokUsage,
        byte[] rowEndpointJson,
        byte[] rowWorkspaceJson,
        byte[] rowUserJson,
        byte[] rowApiKeyHashJson) {
      if (size == endpoints.length) {
        grow(size * 2);
      }
      endpointJson[size] = rowEndpointJson;
      workspaceJson[size] = rowWorkspaceJson;
      userJson[size] = rowUserJson;
      apiKeyHashJson[size] = rowApiKeyHashJson;
      endpoints[size] = endpoint;
      workspaceIds[size] = workspaceId;
      apiKeyHashes[size] = apiKeyHash;
      userIds[size] = userId;
      System.arraycopy(rowCounts, 0, counts, size * CachedDay.COUNTS, CachedDay.COUNTS);
      // The scale of Decimal(38, 12) is exact; current ClickHouse prints fewer digits, 18.16 all
      // twelve.
      BigInteger usageUnscaled = Money.unscaled(rowUsage);
      BigInteger byokUnscaled = Money.unscaled(rowByokUsage);
      if (usageUnscaled.bitLength() < 64 && byokUnscaled.bitLength() < 64) {
        usage[size] = usageUnscaled.longValue();
        byokUsage[size] = byokUnscaled.longValue();
      } else {
        // More than about 9.2 million USD in one row: rare enough to keep as objects beside the
        // arrays.
        if (bigMoney == null) {
          bigMoney = new BigDecimal[endpoints.length * 2];
        }
        bigMoney[2 * size] = Money.ofUnscaled(usageUnscaled);
        bigMoney[2 * size + 1] = Money.ofUnscaled(byokUnscaled);
      }
      size++;
    }

    private void grow(int capacity) {
      endpoints = Arrays.copyOf(endpoints, capacity);
      workspaceIds = Arrays.copyOf(workspaceIds, capacity);
      apiKeyHashes = Arrays.copyOf(apiKeyHashes, capacity);
      userIds = Arrays.copyOf(userIds, capacity);
      counts = Arrays.copyOf(counts, capacity * CachedDay.COUNTS);
      usage = Arrays.copyOf(usage, capacity);
      byokUsage = Arrays.copyOf(byokUsage, capacity);
      if (bigMoney != null) {
        bigMoney = Arrays.copyOf(bigMoney, capacity * 2);
      }
      endpointJson = Arrays.copyOf(endpointJson, capacity);
      workspaceJson = Arrays.copyOf(workspaceJson, capacity);
      userJson = Arrays.copyOf(userJson, capacity);
      apiKeyHashJson = Arrays.copyOf(apiKeyHashJson, capacity);
    }
  }
}
