package io.tallyhouse.stream.rollup;

import io.tallyhouse.schemas.avro.UsageEvent;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;

/**
 * The group key codec: the rollup store's key for a group (account, UTC day of created_at, api key,
 * user, endpoint, model, model permaslug, provider) as one string, and the reading of its fields
 * back from the key's UTF-8 bytes (as the rollups changelog holds it), so that a usage_daily row is
 * rendered from the key without decoding it first.
 */
public final class GroupKey {

  /** Separates the group's fields in its key; PoisonCheck keeps it out of every field. */
  public static final char SEP = '\u001f';

  /** The fields of the group after the key's prefix (eight hex digits and a separator). */
  public static final int FIELDS = 8;

  /** Where the first field starts: after the eight hex digits of the hash and a separator. */
  public static final int PREFIX = 9;

  private GroupKey() {}

  /**
   * The group an event belongs to; '' stands for "no user" (a contract user is never empty).
   *
   * <p>The key starts with eight hex digits of a hash of the fields: keys that begin with the same
   * account, day and api key hash would make every comparison of two keys (RocksDB's, and the
   * changelog's compaction) walk dozens of equal bytes; with the prefix most comparisons end in the
   * first bytes.
   */
  public static String of(UsageEvent e) {
    String fields =
        e.getAccountId()
            + SEP
            + utcDay(e)
            + SEP
            + e.getApiKeyHash()
            + SEP
            + (e.getUser() == null ? "" : e.getUser())
            + SEP
            + e.getEndpointId()
            + SEP
            + e.getModel()
            + SEP
            + e.getModelPermaslug()
            + SEP
            + e.getProviderName();
    // String.hashCode is fixed by the language specification, so a key never changes between
    // versions or JVMs.
    int h = fields.hashCode() * 0x9E3779B9;
    StringBuilder key = new StringBuilder(PREFIX + fields.length());
    for (int shift = 28; shift >= 0; shift -= 4) {
      key.append(Character.forDigit((h >>> shift) & 0xf, 16));
    }
    return key.append(SEP).append(fields).toString();
  }

  /** The UTC day of the event's created_at. */
  public static LocalDate utcDay(UsageEvent e) {
    // Not LocalDate.ofInstant: that builds the offset's ZoneRules for every event.
    return LocalDate.ofEpochDay(Math.floorDiv(e.getCreatedAt().getEpochSecond(), 86_400));
  }

  /** The UTC day of a group key, as its ISO text. */
  public static String day(String groupKey) {
    byte[] key = groupKey.getBytes(StandardCharsets.UTF_8);
    int[] ends = fieldEnds(key);
    return new String(key, ends[0] + 1, ends[1] - ends[0] - 1, StandardCharsets.UTF_8);
  }

  /**
   * The account and api key hash of a group key, as the bytes of account, separator, api key hash:
   * equal pairs are equal arrays, so a batch can write each pair's api_key_hashes row once.
   */
  public static byte[] apiKeyPair(byte[] groupKey) {
    int[] ends = fieldEnds(groupKey);
    int accountLength = ends[0] - PREFIX;
    int keyLength = ends[2] - ends[1] - 1;
    byte[] pair = new byte[accountLength + 1 + keyLength];
    System.arraycopy(groupKey, PREFIX, pair, 0, accountLength);
    pair[accountLength] = SEP;
    System.arraycopy(groupKey, ends[1] + 1, pair, accountLength + 1, keyLength);
    return pair;
  }

  /**
   * Where each of the key's {@link #FIELDS} fields ends (exclusive); the first starts at {@link
   * #PREFIX}, each next one after the previous end. Refuses what {@link #of} cannot have built.
   * Works on the UTF-8 bytes: the separator is one byte there, and no byte of a multi-byte
   * character can be mistaken for it.
   */
  public static int[] fieldEnds(byte[] groupKey) {
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
