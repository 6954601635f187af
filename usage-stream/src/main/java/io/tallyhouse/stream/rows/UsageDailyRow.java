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

  /** The api_key_hashes columns of {@link #appendPairRow} for a {@link GroupKey#apiKeyPair}. */
  public static final List<String> API_KEY_HASH_COLUMNS = List.of("account_id", "api_key_hash");

  /** The workspaces columns of {@link #appendPairRow} for a {@link GroupKey#workspacePair}. */
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
    int[] ends = GroupKey.fieldEnds(groupKey);
    for (int i = 0, from = GroupKey.PREFIX; i < GroupKey.FIELDS; from = ends[i++] + 1) {
      out.utf8(groupKey, from, ends[i]);
    }
    if (ends.length == GroupKey.FIELDS) {
      out.string(Workspaces.STORED_DEFAULT);
    } else {
      // A key's workspace field is never the default one, and any other is stored as it is
      // (Workspaces.stored).
      out.utf8(groupKey, ends[GroupKey.FIELDS - 1] + 1, ends[GroupKey.FIELDS]);
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

  /**
   * Appends the row of a pair: an api_key_hashes row ({@link #API_KEY_HASH_COLUMNS}) of one from
   * {@link GroupKey#apiKeyPair}, a workspaces row ({@link #WORKSPACE_COLUMNS}) of one from {@link
   * GroupKey#workspacePair}.
   */
  public static void appendPairRow(TabSeparated out, byte[] pair) {
    int sep = 0;
    while (pair[sep] != GroupKey.SEP) {
      sep++;
    }
    out.utf8(pair, 0, sep).utf8(pair, sep + 1, pair.length).endRow();
  }
}
