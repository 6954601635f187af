package io.tallyhouse.stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/** A distinct event as its {@code usage_events} row in JSONEachRow (money as exact JSON numbers). */
final class RawEventRow {

  private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
      .withZone(ZoneOffset.UTC);

  private RawEventRow() {}

  static byte[] toJson(UsageEvent e) {
    ObjectNode row = Rollup.JSON.createObjectNode();
    row.put("date", Rollup.utcDay(e).toString());
    row.put("account_id", e.getAccountId());
    row.put("event_id", e.getEventId());
    row.put("api_key_hash", e.getApiKeyHash());
    row.put("user", e.getUser());
    row.put("model", e.getModel());
    row.put("model_permaslug", e.getModelPermaslug());
    row.put("provider_name", e.getProviderName());
    row.put("endpoint_id", e.getEndpointId());
    row.put("created_at", DATE_TIME.format(e.getCreatedAt()));
    row.put("created_at_us", micros(e.getCreatedAt()));
    row.put("prompt_tokens", e.getPromptTokens());
    row.put("completion_tokens", e.getCompletionTokens());
    row.put("reasoning_tokens", e.getReasoningTokens());
    row.put("cached_tokens", e.getCachedTokens());
    row.put("cost", e.getCost());
    row.put("is_byok", e.getIsByok() ? 1 : 0);
    row.put("byok_cost", e.getByokCost());
    row.put("app", e.getApp());
    row.put("received_at", DATE_TIME.format(e.getReceivedAt()));
    row.put("received_at_us", micros(e.getReceivedAt()));
    try {
      return Rollup.JSON.writeValueAsBytes(row);
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }

  private static long micros(Instant instant) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
  }
}
