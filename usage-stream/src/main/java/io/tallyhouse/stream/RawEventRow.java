package io.tallyhouse.stream;

import com.fasterxml.jackson.core.JsonGenerator;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.LocalDateTime;
import java.time.temporal.ChronoUnit;

/** A distinct event as its {@code usage_events} row in JSONEachRow (money as exact JSON numbers). */
final class RawEventRow {

  private RawEventRow() {}

  static byte[] toJson(UsageEvent e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(640);
    try (JsonGenerator g = Rollup.JSON.getFactory().createGenerator(out)) {
      g.enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);
      g.writeStartObject();
      g.writeStringField("date", Rollup.utcDay(e).toString());
      g.writeStringField("account_id", e.getAccountId());
      g.writeStringField("event_id", e.getEventId());
      g.writeStringField("api_key_hash", e.getApiKeyHash());
      g.writeStringField("user", e.getUser());
      g.writeStringField("model", e.getModel());
      g.writeStringField("model_permaslug", e.getModelPermaslug());
      g.writeStringField("provider_name", e.getProviderName());
      g.writeStringField("endpoint_id", e.getEndpointId());
      g.writeStringField("created_at", dateTime(e.getCreatedAt()));
      g.writeNumberField("created_at_us", micros(e.getCreatedAt()));
      g.writeNumberField("prompt_tokens", e.getPromptTokens());
      g.writeNumberField("completion_tokens", e.getCompletionTokens());
      g.writeNumberField("reasoning_tokens", e.getReasoningTokens());
      g.writeNumberField("cached_tokens", e.getCachedTokens());
      g.writeNumberField("cost", e.getCost());
      g.writeNumberField("is_byok", e.getIsByok() ? 1 : 0);
      g.writeNumberField("byok_cost", e.getByokCost());
      g.writeStringField("app", e.getApp());
      g.writeStringField("received_at", dateTime(e.getReceivedAt()));
      g.writeNumberField("received_at_us", micros(e.getReceivedAt()));
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return out.toByteArray();
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
