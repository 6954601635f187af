package io.tallyhouse.stream.rollup;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Arrays;

/**
 * The group key codec: the rollup store's key for a group (account, UTC day of created_at, api key,
 * user, endpoint, model, model permaslug, provider, and the workspace unless it is the default one)
 * as one string, and the reading of its fields back from the key's UTF-8 bytes (as the rollups
 * changelog holds it), so that a usage_daily row is rendered from the key without decoding it
 * first.
 *
 * <p>A group of the default workspace has the eight fields keys had before workspaces existed, and
 * exactly the same key: rollup stores and changelogs written before the upgrade go on counting the
 * same groups (a new key would restart such a group at version 1, and its row would lose against
 * the older, higher version in usage_daily). A group of another workspace has a ninth field, its
 * id.
 */
public final class GroupKey {

  /** Separates the group's fields in its key; PoisonCheck keeps it out of every field. */
  public static final char SEP = '\u001f';

  /**
   * The fields of a group of the default workspace after the key's prefix (eight hex digits and a
   * separator).
   */
  public static final int FIELDS = 8;

  /** The fields of a group of any other workspace: the {@link #FIELDS}, then the workspace id. */
  public static final int FIELDS_WITH_WORKSPACE = FIELDS + 1;

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
    // Built once, hash digits first as placeholders: this runs for every event, and building the
    // fields as a string of their own and copying it behind the digits took twice the copying.
    StringBuilder key = new StringBuilder(PREFIX + 192);
    key.append("00000000")
        .append(SEP)
        .append(e.getAccountId())
        .append(SEP)
        .append(utcDay(e))
        .append(SEP)
        .append(e.getApiKeyHash())
        .append(SEP)
        .append(e.getUser() == null ? "" : e.getUser())
        .append(SEP)
        .append(e.getEndpointId())
        .append(SEP)
        .append(e.getModel())
        .append(SEP)
        .append(e.getModelPermaslug())
        .append(SEP)
        .append(e.getProviderName());
    if (!Workspaces.DEFAULT.equals(e.getWorkspaceId())) {
      // Nothing for the default workspace, so its groups keep the key they had before workspaces.
      key.append(SEP).append(e.getWorkspaceId());
    }
    // String.hashCode of the fields (its formula is fixed by the language specification, so a key
    // never changes between versions or JVMs), computed over the builder's chars.
    int fieldsHash = 0;
    for (int i = PREFIX; i < key.length(); i++) {
      fieldsHash = 31 * fieldsHash + key.charAt(i);
    }
    int h = fieldsHash * 0x9E3779B9;
    for (int digit = 0, shift = 28; shift >= 0; digit++, shift -= 4) {
      key.setCharAt(digit, Character.forDigit((h >>> shift) & 0xf, 16));
    }
    return key.toString();
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

  /** The index of the account among a key's fields. */
  public static final int ACCOUNT = 0;

  /** The index of the api key hash among a key's fields. */
  public static final int API_KEY = 2;

  /** The index of the workspace id among the fields of a key of another workspace. */
  public static final int WORKSPACE = FIELDS;

  /**
   * Writes the key's fields (its UTF-8 bytes, as the changelog holds it) to {@code out} as
   * consecutive TabSeparated values in one pass, and notes in {@code ends} ({@link
   * #FIELDS_WITH_WORKSPACE} long) where each field ends, as {@link #fieldEnds} does; see {@link
   * #fieldStart}. Refuses what {@link #of} cannot have built, having written part of it by then.
   *
   * @return the number of fields: {@link #FIELDS} for the default workspace, {@link
   *     #FIELDS_WITH_WORKSPACE} for another
   */
  public static int appendFields(byte[] groupKey, TabSeparated out, int[] ends) {
    if (ends.length != FIELDS_WITH_WORKSPACE) {
      throw new IllegalArgumentException("ends for " + ends.length + " fields");
    }
    checkPrefix(groupKey);
    int fields;
    try {
      fields = out.utf8Values(groupKey, PREFIX, groupKey.length, (byte) SEP, ends);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "not a group key: more than " + FIELDS_WITH_WORKSPACE + " fields", e);
    }
    checkFields(fields, ends);
    return fields;
  }

  /** Where field {@code field} starts in a key whose {@code ends} {@link #appendFields} noted. */
  public static int fieldStart(int[] ends, int field) {
    return field == 0 ? PREFIX : ends[field - 1] + 1;
  }

  /**
   * Where each of the key's fields ends (exclusive): {@link #FIELDS} of them for the default
   * workspace, {@link #FIELDS_WITH_WORKSPACE} for another, as many as the array is long. The first
   * starts at {@link #PREFIX}, each next one after the previous end. Refuses what {@link #of}
   * cannot have built. Works on the UTF-8 bytes: the separator is one byte there, and no byte of a
   * multi-byte character can be mistaken for it.
   */
  public static int[] fieldEnds(byte[] groupKey) {
    checkPrefix(groupKey);
    // One pass: ends are noted as the separators are found; a key with more fields than any layout
    // is refused at the first separator too many.
    int[] ends = new int[FIELDS_WITH_WORKSPACE];
    int fields = 1;
    for (int i = PREFIX; i < groupKey.length; i++) {
      if (groupKey[i] == SEP) {
        if (fields == FIELDS_WITH_WORKSPACE) {
          throw new IllegalArgumentException(
              "not a group key: more than " + FIELDS_WITH_WORKSPACE + " fields");
        }
        ends[fields++ - 1] = i;
      }
    }
    ends[fields - 1] = groupKey.length;
    checkFields(fields, ends);
    return fields == FIELDS ? Arrays.copyOf(ends, FIELDS) : ends;
  }

  private static void checkPrefix(byte[] groupKey) {
    if (groupKey.length < PREFIX || groupKey[PREFIX - 1] != SEP) {
      throw new IllegalArgumentException("not a group key: no hash prefix");
    }
  }

  private static void checkFields(int fields, int[] ends) {
    if (fields != FIELDS && fields != FIELDS_WITH_WORKSPACE) {
      throw new IllegalArgumentException(
          "not a group key: " + fields + " fields, not " + FIELDS + " or " + FIELDS_WITH_WORKSPACE);
    }
    if (fields == FIELDS_WITH_WORKSPACE && ends[FIELDS] == ends[FIELDS - 1] + 1) {
      throw new IllegalArgumentException("not a group key: an empty workspace id");
    }
  }
}
