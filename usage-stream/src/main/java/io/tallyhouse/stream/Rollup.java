package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.List;

/**
 * One row of usage_daily: the totals one stream task (one partition of the events topic, the row's {@code shard})
 * counted for one group (account, UTC day of created_at, api key, user, endpoint). Readers sum a group's rows over
 * its shards; with FINAL each shard contributes only its latest version.
 *
 * <p>The writer renders rows straight from the group key ({@link #appendRow}) without building this record: the key
 * holds the row's first eight columns in their order.
 */
record Rollup(String accountId, LocalDate date, String apiKeyHash, String userId, String endpointId, String model,
    String modelPermaslug, String providerName, Totals totals) {

  /** The usage_daily columns of {@link #appendRow}, in its order: the key's fields, then the shard and totals. */
  static final List<String> COLUMNS = List.of("account_id", "date", "api_key_hash", "user_id", "endpoint_id", "model",
      "model_permaslug", "provider_name", "shard", "requests", "prompt_tokens", "completion_tokens",
      "reasoning_tokens", "cached_tokens", "usage", "byok_usage_inference", "byok_requests", "version", "updated_at");

  /** Separates the group's fields in its key; PoisonCheck keeps it out of every field. */
  static final char SEP = '\u001f';
  /** The fields of the group after the key's prefix (eight hex digits and a separator). */
  private static final int FIELDS = 8;
  private static final int PREFIX = 9;

  /**
   * The group an event belongs to; '' stands for "no user" (a contract user is never empty).
   *
   * <p>The key starts with eight hex digits of a hash of the fields. The store's cache keeps keys in a sorted map,
   * and keys that begin with the same account, day and api key hash made each lookup compare dozens of equal bytes
   * (a quarter of the stream thread's time in the benchmark); with the prefix most comparisons end in the first
   * bytes.
   */
  static String groupKey(UsageEvent e) {
    String fields = e.getAccountId() + SEP + utcDay(e) + SEP + e.getApiKeyHash() + SEP
        + (e.getUser() == null ? "" : e.getUser()) + SEP + e.getEndpointId() + SEP + e.getModel() + SEP
        + e.getModelPermaslug() + SEP + e.getProviderName();
    // String.hashCode is fixed by the language specification, so a key never changes between versions or JVMs.
    int h = fields.hashCode() * 0x9E3779B9;
    StringBuilder key = new StringBuilder(9 + fields.length());
    for (int shift = 28; shift >= 0; shift -= 4) {
      key.append(Character.forDigit((h >>> shift) & 0xf, 16));
    }
    return key.append(SEP).append(fields).toString();
  }

  static LocalDate utcDay(UsageEvent e) {
    // Not LocalDate.ofInstant: that builds the offset's ZoneRules for every event.
    return LocalDate.ofEpochDay(Math.floorDiv(e.getCreatedAt().getEpochSecond(), 86_400));
  }

  /** The row of a group key (as {@link #groupKey} builds it) and its totals. */
  static Rollup of(String groupKey, Totals totals) {
    byte[] key = groupKey.getBytes(StandardCharsets.UTF_8);
    int[] ends = fieldEnds(key);
    String[] f = new String[FIELDS];
    for (int i = 0, from = PREFIX; i < FIELDS; from = ends[i++] + 1) {
      f[i] = new String(key, from, ends[i] - from, StandardCharsets.UTF_8);
    }
    return new Rollup(f[0], LocalDate.parse(f[1]), f[2], f[3], f[4], f[5], f[6], f[7], totals);
  }

  /**
   * Appends the usage_daily row ({@link #COLUMNS}) of a group key (its UTF-8 bytes, as the changelog holds it), the
   * shard that counted it, and its totals.
   */
  static void appendRow(TabSeparated out, byte[] groupKey, int shard, Totals totals, String updatedAt) {
    int[] ends = fieldEnds(groupKey);
    for (int i = 0, from = PREFIX; i < FIELDS; from = ends[i++] + 1) {
      out.utf8(groupKey, from, ends[i]);
    }
    out.number(shard)
        .number(totals.requests())
        .number(totals.promptTokens())
        .number(totals.completionTokens())
        .number(totals.reasoningTokens())
        .number(totals.cachedTokens())
        .decimal(totals.usage())
        .decimal(totals.byokUsageInference())
        .number(totals.byokRequests())
        .number(totals.version())
        .string(updatedAt)
        .endRow();
  }

  /** The UTC day of a group key, as its ISO text. */
  static String day(String groupKey) {
    byte[] key = groupKey.getBytes(StandardCharsets.UTF_8);
    int[] ends = fieldEnds(key);
    return new String(key, ends[0] + 1, ends[1] - ends[0] - 1, StandardCharsets.UTF_8);
  }

  /**
   * The api_key_hashes row a rollup row implies, as the bytes of account, separator, api key hash: equal pairs are
   * equal arrays, so a batch can write each once.
   */
  static byte[] apiKeyPair(byte[] groupKey) {
    int[] ends = fieldEnds(groupKey);
    int accountLength = ends[0] - PREFIX;
    int keyLength = ends[2] - ends[1] - 1;
    byte[] pair = new byte[accountLength + 1 + keyLength];
    System.arraycopy(groupKey, PREFIX, pair, 0, accountLength);
    pair[accountLength] = SEP;
    System.arraycopy(groupKey, ends[1] + 1, pair, accountLength + 1, keyLength);
    return pair;
  }

  /** Appends the api_key_hashes row (account_id, api_key_hash) of a pair from {@link #apiKeyPair}. */
  static void appendApiKeyRow(TabSeparated out, byte[] pair) {
    int sep = 0;
    while (pair[sep] != SEP) {
      sep++;
    }
    out.utf8(pair, 0, sep).utf8(pair, sep + 1, pair.length).endRow();
  }

  /**
   * Where each of the key's fields ends (exclusive); refuses what {@link #groupKey} cannot have built. Works on the
   * UTF-8 bytes: the separator is one byte there, and no byte of a multi-byte character can be mistaken for it.
   */
  private static int[] fieldEnds(byte[] groupKey) {
    if (groupKey.length < PREFIX || groupKey[PREFIX - 1] != SEP) {
      throw new IllegalArgumentException("not a group key: no hash prefix");
    }
    int[] ends = new int[FIELDS];
    int field = 0;
    for (int i = PREFIX; i < groupKey.length; i++) {
      if (groupKey[i] == SEP) {
        if (field == FIELDS - 1) {
          throw new IllegalArgumentException("not a group key: more than " + FIELDS + " fields");
        }
        ends[field++] = i;
      }
    }
    if (field != FIELDS - 1) {
      throw new IllegalArgumentException("not a group key: " + (field + 1) + " fields");
    }
    ends[FIELDS - 1] = groupKey.length;
    return ends;
  }
}
