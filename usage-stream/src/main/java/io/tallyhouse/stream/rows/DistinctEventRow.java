package io.tallyhouse.stream.rows;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.stream.rollup.GroupKey;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.List;

/**
 * A distinct event as its {@code usage_events} row in TabSeparated: the distinct events topic's
 * value, inserted by the writer as it is. Money is the decimal's plain digits, exact. The workspace
 * is the event's as sent ({@value Workspaces#DEFAULT} for none): usage_events is the raw table.
 */
public final class DistinctEventRow {

  /** The usage_events columns of {@link #toRow}, in its order. */
  public static final List<String> COLUMNS =
      List.of(
          "date",
          "account_id",
          "workspace_id",
          "event_id",
          "api_key_hash",
          "user",
          "model",
          "model_permaslug",
          "provider_name",
          "endpoint_id",
          "created_at",
          "created_at_us",
          "prompt_tokens",
          "completion_tokens",
          "reasoning_tokens",
          "cached_tokens",
          "cost",
          "is_byok",
          "byok_cost",
          "app",
          "received_at",
          "received_at_us");

  private static final long[] POWERS_OF_TEN = powersOfTen();

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());
  private static final long TABS = 0x0909090909090909L;
  private static final long LOW_SEVEN_BITS = 0x7f7f7f7f7f7f7f7fL;

  /** The value {@value Workspaces#DEFAULT} and the tab that ends it. */
  private static final byte[] DEFAULT_WORKSPACE_COLUMN = defaultWorkspaceColumn();

  private DistinctEventRow() {}

  /** The row, ending in a newline. */
  public static byte[] toRow(UsageEvent e) {
    return new TabSeparated(384)
        .date(GroupKey.utcDay(e))
        .string(e.getAccountId())
        .string(e.getWorkspaceId())
        .string(e.getEventId())
        .string(e.getApiKeyHash())
        .nullableString(e.getUser())
        .string(e.getModel())
        .string(e.getModelPermaslug())
        .string(e.getProviderName())
        .string(e.getEndpointId())
        .dateTime(e.getCreatedAt().getEpochSecond())
        .number(micros(e.getCreatedAt()))
        .number(e.getPromptTokens())
        .number(e.getCompletionTokens())
        .number(e.getReasoningTokens())
        .number(e.getCachedTokens())
        .decimal(e.getCost())
        .number(e.getIsByok() ? 1 : 0)
        .decimal(e.getByokCost())
        .nullableString(e.getApp())
        .dateTime(e.getReceivedAt().getEpochSecond())
        .number(micros(e.getReceivedAt()))
        .endRow()
        .toByteArray();
  }

  /**
   * {@code row} in the columns of {@link #COLUMNS}: as it is, or, when a build from before
   * workspaces wrote it (one column fewer, no workspace after the account), with the workspace
   * {@value Workspaces#DEFAULT} added. Such rows wait on the distinct events topic across an
   * upgrade; inserted with today's columns they would be refused, and the writer would stop on
   * them.
   */
  public static byte[] withWorkspace(byte[] row) {
    // A tab inside a value is escaped (TabSeparated), so every tab byte ends a column.
    if (tabs(row) != COLUMNS.size() - 2) {
      return row;
    }
    int afterAccount = 0;
    for (int seen = 0; seen < 2; afterAccount++) {
      if (row[afterAccount] == '\t') {
        seen++;
      }
    }
    byte[] withDefault = new byte[row.length + DEFAULT_WORKSPACE_COLUMN.length];
    System.arraycopy(row, 0, withDefault, 0, afterAccount);
    System.arraycopy(
        DEFAULT_WORKSPACE_COLUMN, 0, withDefault, afterAccount, DEFAULT_WORKSPACE_COLUMN.length);
    System.arraycopy(
        row,
        afterAccount,
        withDefault,
        afterAccount + DEFAULT_WORKSPACE_COLUMN.length,
        row.length - afterAccount);
    return withDefault;
  }

  /**
   * The tab bytes in {@code row}, counted eight bytes at a time: every row the writer inserts is
   * counted whole, to tell a row of the build before workspaces from today's.
   */
  static int tabs(byte[] row) {
    int tabs = 0;
    int i = 0;
    for (; i + Long.BYTES <= row.length; i += Long.BYTES) {
      // A byte of x is zero exactly where row holds a tab; the sum sets a byte's high bit for every
      // nonzero low seven bits, without a carry into the next byte, so only zero bytes keep it
      // clear.
      long x = (long) LONGS.get(row, i) ^ TABS;
      long zeroBytes = ~(((x & LOW_SEVEN_BITS) + LOW_SEVEN_BITS) | x | LOW_SEVEN_BITS);
      tabs += Long.bitCount(zeroBytes);
    }
    for (; i < row.length; i++) {
      if (row[i] == '\t') {
        tabs++;
      }
    }
    return tabs;
  }

  /**
   * The {@code received_at_us} of a row made by {@link #toRow} (its last column, read from the end
   * without parsing the rest), or -1 when the row does not end in such a number.
   */
  public static long receivedAtMicros(byte[] row) {
    int end = row.length - 1;
    if (end < 1 || row[end] != '\n') {
      return -1;
    }
    long micros = 0;
    int digits = 0;
    for (int i = end - 1; i >= 0; i--) {
      byte b = row[i];
      if (b == '\t') {
        return digits == 0 ? -1 : micros;
      }
      if (b < '0' || b > '9' || digits == 18) {
        return -1;
      }
      micros += (b - '0') * POWERS_OF_TEN[digits++];
    }
    return -1;
  }

  private static byte[] defaultWorkspaceColumn() {
    byte[] column = new TabSeparated(16).string(Workspaces.DEFAULT).endRow().toByteArray();
    column[column.length - 1] = '\t';
    return column;
  }

  private static long[] powersOfTen() {
    long[] powers = new long[18];
    powers[0] = 1;
    for (int i = 1; i < powers.length; i++) {
      powers[i] = powers[i - 1] * 10;
    }
    return powers;
  }

  /** {@code instant} in epoch microseconds, as the row's {@code *_us} columns hold it. */
  public static long micros(Instant instant) {
    return instant.getEpochSecond() * 1_000_000 + instant.getNano() / 1_000;
  }
}
