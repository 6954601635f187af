package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * A distinct event as its {@code usage_events} row in TabSeparated: the raw topic's value, inserted by the writer
 * as it is. Money is the decimal's plain digits, exact.
 */
final class RawEventRow {

  /** The usage_events columns of {@link #toRow}, in its order. */
  static final List<String> COLUMNS = List.of("date", "account_id", "event_id", "api_key_hash", "user", "model",
      "model_permaslug", "provider_name", "endpoint_id", "created_at", "created_at_us", "prompt_tokens",
      "completion_tokens", "reasoning_tokens", "cached_tokens", "cost", "is_byok", "byok_cost", "app", "received_at",
      "received_at_us");

  private RawEventRow() {}

  /** The row, ending in a newline. */
  static byte[] toRow(UsageEvent e) {
    return new TabSeparated(384)
        .string(Rollup.utcDay(e).toString())
        .string(e.getAccountId())
        .string(e.getEventId())
        .string(e.getApiKeyHash())
        .nullableString(e.getUser())
        .string(e.getModel())
        .string(e.getModelPermaslug())
        .string(e.getProviderName())
        .string(e.getEndpointId())
        .string(dateTime(e.getCreatedAt()))
        .number(micros(e.getCreatedAt()))
        .number(e.getPromptTokens())
        .number(e.getCompletionTokens())
        .number(e.getReasoningTokens())
        .number(e.getCachedTokens())
        .decimal(e.getCost())
        .number(e.getIsByok() ? 1 : 0)
        .decimal(e.getByokCost())
        .nullableString(e.getApp())
        .string(dateTime(e.getReceivedAt()))
        .number(micros(e.getReceivedAt()))
        .endRow()
        .toByteArray();
  }

  /**
   * "yyyy-MM-dd HH:mm:ss" in UTC, ClickHouse's DateTime text. Written by hand: a DateTimeFormatter with a zone builds
   * the zone's rules for every call, and this runs twice per event on the stream thread.
   */
  static String dateTime(Instant instant) {
    LocalDateTime t = LocalDateTime.ofEpochSecond(instant.getEpochSecond(), 0, ZoneOffset.UTC);
    char[] c = "0000-00-00 00:00:00".toCharArray();
    digits(c, 0, 4, t.getYear());
    digits(c, 5, 2, t.getMonthValue());
    digits(c, 8, 2, t.getDayOfMonth());
    digits(c, 11, 2, t.getHour());
    digits(c, 14, 2, t.getMinute());
    digits(c, 17, 2, t.getSecond());
    return new String(c);
  }

  private static void digits(char[] c, int at, int width, int value) {
    for (int i = at + width - 1; i >= at; i--) {
      c[i] = (char) ('0' + value % 10);
      value /= 10;
    }
  }

  private static long micros(Instant instant) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
  }
}
