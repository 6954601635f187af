package io.tallyhouse.query.cache;

import java.math.BigDecimal;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The estimated heap bytes the cache's memory bound counts, on the high side for a 64-bit JVM:
 * object headers of 16 bytes and references of 8 (4 with compressed oops), so the bound is never
 * exceeded by the estimate being low.
 */
final class HeapEstimate {

  private HeapEstimate() {}

  static final int HEADER = 16;
  static final int REF = 8;

  /** A String object without its array (header, hash, coder, the array reference). */
  static final int STRING = 32;

  /** An Endpoint record: header and four references. */
  static final int ENDPOINT = HEADER + 4 * REF;

  /**
   * A BigDecimal with its BigInteger and magnitude array (rows of more than about 9.2 million USD).
   */
  static final int BIG_DECIMAL = 112;

  /**
   * A memo's map node, key and value records beside its bytes; and a user's node in the per-user
   * index.
   */
  static final int MEMO_ENTRY = 128;

  static final int USER_INDEX_ENTRY = 64;

  /** A day's own fields, its date and its empty memo map. */
  static final int DAY = 256;

  /**
   * The cache's map entry, key, date and entry object of a cached day, beside the day's own
   * footprint.
   */
  static final int ENTRY = 160;

  /**
   * The day's arrays plus every distinct string, endpoint and JSON text its rows point to, at their
   * real lengths (a 256 character user id weighs what it takes). The strings of one load are shared
   * by its days, but each day counts those it points to, so a day evicted alone never leaves them
   * uncounted: an upper bound.
   */
  static long of(CachedDay day) {
    int n = day.rows();
    long bytes = DAY + array(day.itemStart.length, 1);
    bytes += 8 * array(n, REF) + array((long) n * CachedDay.COUNTS, 8) + 2 * array(n, 8);
    if (day.bigMoney != null) {
      bytes += array(day.bigMoney.length, REF);
      for (BigDecimal amount : day.bigMoney) {
        bytes += amount == null ? 0 : BIG_DECIMAL;
      }
    }
    Set<Object> counted = Collections.newSetFromMap(new IdentityHashMap<>());
    for (int i = 0; i < n; i++) {
      CachedDay.Endpoint endpoint = day.endpoints[i];
      if (counted.add(endpoint)) {
        bytes +=
            ENDPOINT
                + string(endpoint.endpointId(), counted)
                + string(endpoint.model(), counted)
                + string(endpoint.modelPermaslug(), counted)
                + string(endpoint.providerName(), counted);
      }
      bytes +=
          string(day.workspaceIds[i], counted)
              + string(day.apiKeyHashes[i], counted)
              + string(day.userIds[i], counted);
      for (byte[] json :
          new byte[][] {
            day.endpointJson[i], day.workspaceJson[i], day.userJson[i], day.apiKeyHashJson[i]
          }) {
        bytes += counted.add(json) ? array(json.length, 1) : 0;
      }
    }
    return bytes;
  }

  /** A memoized answer of {@code json}'s bytes. */
  static long memo(byte[] json) {
    return MEMO_ENTRY + array(json.length, 1);
  }

  /** A per-user index of a day's rows. */
  static long userIndex(Map<String, int[]> index) {
    long bytes = HEADER + array(2L * index.size(), REF);
    for (int[] rows : index.values()) {
      bytes += USER_INDEX_ENTRY + array(rows.length, 4);
    }
    return bytes;
  }

  /**
   * A string's bytes unless {@code counted} has it: one byte per character when all are Latin-1,
   * else two.
   */
  private static long string(String value, Set<Object> counted) {
    if (!counted.add(value)) {
      return 0;
    }
    boolean latin1 = value.chars().allMatch(c -> c <= 0xFF);
    return STRING + array(value.length(), latin1 ? 1 : 2);
  }

  /**
   * An array of {@code length} elements of {@code size} bytes, with its header, padded to 8 bytes.
   */
  static long array(long length, int size) {
    return (HEADER + length * size + 7) & ~7L;
  }
}
