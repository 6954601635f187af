package io.tallyhouse.query.cache;

import io.tallyhouse.query.activity.ActivityItem;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.json.JsonBytes;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a cached day's sums as the items of an activity answer, straight into its bytes, byte for
 * byte as {@link ActivityItem#jsonObjects} writes the SQL path's items (the strings' JSON is made
 * once per load).
 */
final class ItemJson {

  private ItemJson() {}

  private static final byte[] USAGE = ascii(",\"usage\":");
  private static final byte[] BYOK_USAGE = ascii(",\"byok_usage_inference\":");
  private static final byte[][] COUNT_FIELDS = {
    ascii(",\"requests\":"),
    ascii(",\"prompt_tokens\":"),
    ascii(",\"completion_tokens\":"),
    ascii(",\"reasoning_tokens\":"),
    ascii(",\"cached_tokens\":"),
    ascii(",\"byok_requests\":")
  };
  private static final byte[] WORKSPACE_ID = ascii(",\"workspace_id\":");
  private static final byte[] USER_ID = ascii(",\"user_id\":");
  private static final byte[] API_KEY_HASH = ascii(",\"api_key_hash\":");

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Writes the sums of {@code day} in the contract's order, preceded by a comma when {@code
   * separate} and there is one; returns how many.
   */
  static int write(
      CachedDay day,
      Iterable<DaySums.Sum> unordered,
      ActivityRequest.Grouping grouping,
      JsonBytes out,
      boolean separate) {
    List<DaySums.Sum> sums = new ArrayList<>();
    unordered.forEach(sums::add);
    sums.sort(DaySums.ORDER);
    for (DaySums.Sum sum : sums) {
      if (separate) {
        out.append(',');
      }
      separate = true;
      int row = sum.firstRow;
      out.append(day.itemStart).append(day.endpointJson[row]);
      out.append(USAGE);
      sum.usage.writeTo(out);
      out.append(BYOK_USAGE);
      sum.byokUsage.writeTo(out);
      for (int c = 0; c < CachedDay.COUNTS; c++) {
        out.append(COUNT_FIELDS[c]).appendUnsigned(sum.counts[c]);
      }
      if (grouping.workspace()) {
        out.append(WORKSPACE_ID).append(day.workspaceJson[row]);
      }
      if (grouping.user()) {
        out.append(USER_ID).append(day.userJson[row]);
      }
      if (grouping.apiKey()) {
        out.append(API_KEY_HASH).append(day.apiKeyHashJson[row]);
      }
      out.append('}');
    }
    return sums.size();
  }
}
