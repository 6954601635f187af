package io.tallyhouse.query.event;

import com.fasterxml.jackson.core.JsonGenerator;
import io.tallyhouse.query.json.JsonText;
import io.tallyhouse.schemas.contract.EventRules;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * One event as {@code usage_events} stored it: every field of the contract's usage event
 * (CONTRACT.md section 1) with the defaults applied at ingest, plus {@code received_at}.
 *
 * @param user null for an event without a user
 * @param app null for an event without an app
 * @param createdAtMicros created_at in microseconds since the epoch, the precision stored
 * @param receivedAtMicros received_at in microseconds since the epoch
 */
public record StoredEvent(
    String eventId,
    String accountId,
    String apiKeyHash,
    String user,
    String model,
    String modelPermaslug,
    String providerName,
    String endpointId,
    long createdAtMicros,
    long promptTokens,
    long completionTokens,
    long reasoningTokens,
    long cachedTokens,
    BigDecimal cost,
    boolean isByok,
    BigDecimal byokCost,
    String app,
    String workspaceId,
    long receivedAtMicros) {

  /** The fields {@link #writeTo} writes, in its order: the contract's, then received_at. */
  public static final List<String> FIELDS =
      Stream.concat(EventRules.FIELDS.stream(), Stream.of("received_at")).toList();

  /** RFC 3339 in UTC with exactly six fraction digits: the microseconds the table keeps. */
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  public StoredEvent {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(accountId, "accountId");
    Objects.requireNonNull(apiKeyHash, "apiKeyHash");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(modelPermaslug, "modelPermaslug");
    Objects.requireNonNull(providerName, "providerName");
    Objects.requireNonNull(endpointId, "endpointId");
    Objects.requireNonNull(cost, "cost");
    Objects.requireNonNull(byokCost, "byokCost");
    Objects.requireNonNull(workspaceId, "workspaceId");
  }

  /** {@code micros} since the epoch as RFC 3339 text in UTC with microseconds. */
  public static String rfc3339(long micros) {
    return MICROS.format(
        Instant.ofEpochSecond(
            Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L));
  }

  /**
   * Writes the event as one JSON object with every field, in the contract's order, {@code user} and
   * {@code app} null when absent. Money is an exact JSON number, plain, without trailing zeros (as
   * the activity items write it); the times are RFC 3339 with microseconds.
   */
  public void writeTo(JsonGenerator json) throws IOException {
    json.writeStartObject();
    json.writeStringField("event_id", eventId);
    json.writeStringField("account_id", accountId);
    json.writeStringField("api_key_hash", apiKeyHash);
    JsonText.writeNullableStringField(json, "user", user);
    json.writeStringField("model", model);
    json.writeStringField("model_permaslug", modelPermaslug);
    json.writeStringField("provider_name", providerName);
    json.writeStringField("endpoint_id", endpointId);
    json.writeStringField("created_at", rfc3339(createdAtMicros));
    json.writeNumberField("prompt_tokens", promptTokens);
    json.writeNumberField("completion_tokens", completionTokens);
    json.writeNumberField("reasoning_tokens", reasoningTokens);
    json.writeNumberField("cached_tokens", cachedTokens);
    JsonText.writeMoneyField(json, "cost", cost);
    json.writeBooleanField("is_byok", isByok);
    JsonText.writeMoneyField(json, "byok_cost", byokCost);
    JsonText.writeNullableStringField(json, "app", app);
    json.writeStringField("workspace_id", workspaceId);
    json.writeStringField("received_at", rfc3339(receivedAtMicros));
    json.writeEndObject();
  }
}
