package io.tallyhouse.stream.rows;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.List;

/**
 * One row of usage_daily: the totals one stream task (one partition of the events topic, the row's
 * {@code shard}) counted for one group (account, UTC day of created_at, api key, user, endpoint,
 * workspace). Readers sum a group's rows over its shards; with FINAL each shard contributes only
 * its latest version.
 *
 * <p>The writer renders rows straight from the group key ({@link #appendRow}) without building this
 * record: the key holds the row's first eight columns in their order, and the workspace when it is
 * not the default one.
 *
 * @param workspaceId the workspace as shown ({@value Workspaces#DEFAULT}, never the '' usage_daily
 *     stores for it)
 */
public record UsageDailyRow(
    String accountId,
    LocalDate date,
    String apiKeyHash,
    String userId,
    String endpointId,
    String model,
    String modelPermaslug,
    String providerName,
    String workspaceId,
    GroupTotals totals) {

  /**
   * The usage_daily columns of {@link #appendRow}, in its order: the key's fields, then the shard
   * and totals.
   */
  public static final List<String> COLUMNS =
      List.of(
          "account_id",
          "date",
          "api_key_hash",
          "user_id",
          "endpoint_id",
          "model",
          "model_permaslug",
          "provider_name",
          "workspace_id",
          "shard",
          "requests",
          "prompt_tokens",
          "completion_tokens",
          "reasoning_tokens",
          "cached_tokens",
          "usage",
          "byok_usage_inference",
          "byok_requests",
          "version",
          "updated_at");

  /** The api_key_hashes columns of {@link #appendPairRow}: an account and an api key hash. */
  public static final List<String> API_KEY_HASH_COLUMNS = List.of("account_id", "api_key_hash");

  /** The workspaces columns of {@link #appendPairRow}: an account and a workspace as shown. */
  public static final List<String> WORKSPACE_COLUMNS = List.of("account_id", "workspace_id");

  /** The row of a group key (as {@link GroupKey#of} builds it) and its totals. */
  public static UsageDailyRow of(String groupKey, GroupTotals totals) {
    byte[] key = groupKey.getBytes(StandardCharsets.UTF_8);
    int[] ends = GroupKey.fieldEnds(key);
    String[] f = new String[GroupKey.FIELDS_WITH_WORKSPACE];
    f[GroupKey.FIELDS] = Workspaces.DEFAULT;
    for (int i = 0, from = GroupKey.PREFIX; i < ends.length; from = ends[i++] + 1) {
      f[i] = new String(key, from, ends[i] - from, StandardCharsets.UTF_8);
    }
    return new UsageDailyRow(
        f[0], LocalDate.parse(f[1]), f[2], f[3], f[4], f[5], f[6], f[7], f[8], totals);
  }

  /**
   * Appends the usage_daily row ({@link #COLUMNS}) of a group key (its UTF-8 bytes, as the
   * changelog holds it), the shard that counted it, and its totals.
   */
  public static void appendRow(
      TabSeparated out, byte[] groupKey, int shard, GroupTotals totals, String updatedAt) {
    appendRow(
        out, groupKey, new int[GroupKey.FIELDS_WITH_WORKSPACE], shard, totals.toBytes(), updatedAt);
  }

  /**
   * Appends the usage_daily row ({@link #COLUMNS}) of a group key, the shard that counted it, and
   * its totals in their stored form (as the changelog holds them; refused as {@link
   * GroupTotals#fromBytes} refuses them), rendered without decoding them; leaves the key's field
   * ends in {@code fieldEnds} ({@link GroupKey#appendFields}), so the caller reads the account, api
   * key and workspace of the row without reading the key again.
   *
   * @return the key's number of fields
   */
  public static int appendRow(
      TabSeparated out,
      byte[] groupKey,
      int[] fieldEnds,
      int shard,
      byte[] storedTotals,
      String updatedAt) {
    GroupTotals.version(storedTotals);
    // The key's fields are the row's first eight columns in their order, and the workspace when it
    // is not the default one: a key's workspace field is never the default one, and any other is
    // stored as it is (Workspaces.stored).
    int fields = GroupKey.appendFields(groupKey, out, fieldEnds);
    if (fields == GroupKey.FIELDS) {
      out.string(Workspaces.STORED_DEFAULT);
    }
    out.number(shard)
        .number(GroupTotals.storedLong(storedTotals, GroupTotals.REQUESTS))
        .number(GroupTotals.storedLong(storedTotals, GroupTotals.PROMPT_TOKENS))
        .number(GroupTotals.storedLong(storedTotals, GroupTotals.COMPLETION_TOKENS))
        .number(GroupTotals.storedLong(storedTotals, GroupTotals.REASONING_TOKENS))
        .number(GroupTotals.storedLong(storedTotals, GroupTotals.CACHED_TOKENS));
    amount(out, storedTotals, GroupTotals.STORED_USAGE_AT);
    amount(out, storedTotals, GroupTotals.storedByokAt(storedTotals));
    out.number(GroupTotals.storedLong(storedTotals, GroupTotals.BYOK_REQUESTS))
        .number(GroupTotals.storedLong(storedTotals, GroupTotals.VERSION))
        .string(updatedAt)
        .endRow();
    return fields;
  }

  /**
   * The stored amount framed at {@code at}, as a long's digits when it fits one (nearly always).
   */
  private static void amount(TabSeparated out, byte[] storedTotals, int at) {
    long unscaled = GroupTotals.storedUnscaled(storedTotals, at);
    if (unscaled >= 0) {
      out.decimalOfUnscaled(unscaled);
    } else {
      out.decimal(GroupTotals.storedAmount(storedTotals, at));
    }
  }

  /**
   * Appends the row of a pair: the account {@code [accountFrom, accountTo)} of {@code account} and
   * a second value {@code [from, to)} of {@code value}, both UTF-8 bytes: an api_key_hashes row
   * ({@link #API_KEY_HASH_COLUMNS}) or a workspaces row ({@link #WORKSPACE_COLUMNS}).
   */
  public static void appendPairRow(
      TabSeparated out,
      byte[] account,
      int accountFrom,
      int accountTo,
      byte[] value,
      int from,
      int to) {
    out.utf8(account, accountFrom, accountTo).utf8(value, from, to).endRow();
  }
}
