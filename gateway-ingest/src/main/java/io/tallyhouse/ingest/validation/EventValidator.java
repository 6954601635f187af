package io.tallyhouse.ingest.validation;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.EventRules;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Turns a request body (one event object or an array of them) into Avro events, checking every rule
 * of CONTRACT.md section 1. It reports every problem of every event, so a client fixes a batch in
 * one round trip.
 *
 * <p>The field rules are {@link EventRules}, the ones usage-stream counts by; the rules that depend
 * on the request (JSON types, {@code created_at} against now) are here. Every event built is
 * checked once more as a whole by the stream's own check, so an event this accepts is never a dead
 * letter downstream.
 */
public final class EventValidator {

  public static final List<String> REQUIRED =
      List.of(
          "event_id", "account_id", "api_key_hash", "model", "provider_name", "created_at", "cost");
  private static final String[] TOKEN_FIELDS = {
    "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"
  };

  private final Clock clock;
  private final Duration dedupWindow;
  private final int maxEvents;

  public EventValidator(Clock clock, Duration dedupWindow, int maxEvents) {
    this.clock = clock;
    this.dedupWindow = dedupWindow;
    this.maxEvents = maxEvents;
  }

  /** The events of a valid body, or every problem found. */
  public record Outcome(List<UsageEvent> events, List<FieldError> errors) {
    public boolean valid() {
      return errors.isEmpty();
    }
  }

  public Outcome validate(JsonNode body) {
    List<FieldError> errors = new ArrayList<>();
    List<UsageEvent> events = new ArrayList<>();
    if (body == null || !(body.isObject() || body.isArray())) {
      errors.add(new FieldError(0, "", "the body must be an event object or an array of events"));
      return new Outcome(List.of(), errors);
    }
    if (body.isArray() && (body.isEmpty() || body.size() > maxEvents)) {
      errors.add(
          new FieldError(
              0, "", "an array must hold 1 to " + maxEvents + " events, got " + body.size()));
      return new Outcome(List.of(), errors);
    }
    Instant receivedAt = clock.instant().truncatedTo(ChronoUnit.MICROS);
    if (body.isObject()) {
      events.add(event(0, body, receivedAt, errors));
    } else {
      for (int i = 0; i < body.size(); i++) {
        events.add(event(i, body.get(i), receivedAt, errors));
      }
    }
    return errors.isEmpty() ? new Outcome(events, List.of()) : new Outcome(List.of(), errors);
  }

  private UsageEvent event(int index, JsonNode node, Instant receivedAt, List<FieldError> errors) {
    if (node == null || !node.isObject()) {
      errors.add(new FieldError(index, "", "each event must be a JSON object"));
      return null;
    }
    Fields f = new Fields(index, node, errors);
    String eventId = f.requiredString("event_id", EventRules::eventIdProblem);
    String accountId = f.requiredString("account_id", EventRules::accountIdProblem);
    String apiKeyHash = f.requiredString("api_key_hash", EventRules::apiKeyHashProblem);
    String user = f.optionalString("user", s -> EventRules.textProblem(s, EventRules.USER_MAX));
    String model = f.requiredString("model", s -> EventRules.textProblem(s, EventRules.MODEL_MAX));
    String permaslug =
        f.optionalString("model_permaslug", s -> EventRules.textProblem(s, EventRules.MODEL_MAX));
    String provider =
        f.requiredString(
            "provider_name", s -> EventRules.textProblem(s, EventRules.PROVIDER_NAME_MAX));
    String endpointId =
        f.optionalString("endpoint_id", s -> EventRules.textProblem(s, EventRules.ENDPOINT_ID_MAX));
    String app = f.optionalString("app", s -> EventRules.textProblem(s, EventRules.APP_MAX));
    String workspaceId = f.optionalString("workspace_id", EventRules::workspaceIdProblem);
    Instant createdAt = createdAt(f);
    long[] tokens = new long[TOKEN_FIELDS.length];
    for (int t = 0; t < TOKEN_FIELDS.length; t++) {
      tokens[t] = f.tokens(TOKEN_FIELDS[t]);
    }
    BigDecimal cost = f.money("cost", true);
    BigDecimal byokCost = f.money("byok_cost", false);
    Boolean isByok = f.optionalBoolean("is_byok");
    if (f.failed()) {
      return null;
    }
    String slug = permaslug == null ? model : permaslug;
    UsageEvent event =
        UsageEvent.newBuilder()
            .setEventId(eventId)
            .setAccountId(accountId)
            .setApiKeyHash(apiKeyHash.toLowerCase(Locale.ROOT))
            .setUser(user)
            .setModel(model)
            .setModelPermaslug(slug)
            .setProviderName(provider)
            .setEndpointId(endpointId == null ? provider + "/" + slug : endpointId)
            .setCreatedAt(createdAt)
            .setPromptTokens(tokens[0])
            .setCompletionTokens(tokens[1])
            .setReasoningTokens(tokens[2])
            .setCachedTokens(tokens[3])
            .setCost(cost)
            .setIsByok(isByok != null && isByok)
            .setByokCost(byokCost == null ? BigDecimal.ZERO.setScale(Money.SCALE) : byokCost)
            .setApp(app)
            .setReceivedAt(receivedAt)
            .setWorkspaceId(workspaceId == null ? Workspaces.DEFAULT : workspaceId)
            .build();
    EventRules.Violation violation = EventRules.violation(event);
    if (violation != null) {
      f.error(violation.field(), violation.message());
      return null;
    }
    return event;
  }

  private Instant createdAt(Fields f) {
    String text = f.requiredString("created_at", s -> EventRules.textProblem(s, 64));
    if (text == null) {
      return null;
    }
    Instant instant;
    try {
      instant = OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      f.error(
          "created_at",
          "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-21T10:15:30.123Z");
      return null;
    }
    String outOfRange = EventRules.timeProblem(instant);
    if (outOfRange != null) {
      f.error("created_at", outOfRange);
      return null;
    }
    Instant now = clock.instant();
    if (instant.isAfter(now.plus(EventRules.MAX_FUTURE_SKEW))) {
      f.error("created_at", "must not be more than 5 minutes in the future");
      return null;
    }
    if (instant.isBefore(now.minus(dedupWindow))) {
      f.error(
          "created_at",
          "must not be older than the dedup window of " + dedupWindow.toDays() + " days");
      return null;
    }
    return instant.truncatedTo(ChronoUnit.MICROS);
  }

  /** Field access for one event that records problems instead of throwing. */
  private static final class Fields {
    private final int index;
    private final JsonNode node;
    private final List<FieldError> errors;
    private final int errorsBefore;

    Fields(int index, JsonNode node, List<FieldError> errors) {
      this.index = index;
      this.node = node;
      this.errors = errors;
      this.errorsBefore = errors.size();
    }

    boolean failed() {
      return errors.size() > errorsBefore;
    }

    void error(String field, String message) {
      errors.add(new FieldError(index, field, message));
    }

    /**
     * The field's text when it obeys {@code rule} (which answers the problem, or null), else null
     * and an error.
     */
    String requiredString(String field, Function<String, String> rule) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        error(field, "is required");
        return null;
      }
      return string(field, value, rule);
    }

    String optionalString(String field, Function<String, String> rule) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        return null;
      }
      return string(field, value, rule);
    }

    private String string(String field, JsonNode value, Function<String, String> rule) {
      if (!value.isTextual()) {
        error(field, "must be a string");
        return null;
      }
      String text = value.textValue();
      String problem = rule.apply(text);
      if (problem != null) {
        error(field, problem);
        return null;
      }
      return text;
    }

    long tokens(String field) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        return 0;
      }
      if (!value.isIntegralNumber()) {
        error(field, "must be an integer");
        return 0;
      }
      BigInteger n = value.bigIntegerValue();
      long count =
          n.bitLength() < Long.SIZE
              ? n.longValue()
              : n.signum() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
      String problem = EventRules.tokensProblem(count);
      if (problem != null) {
        error(field, problem);
        return 0;
      }
      return count;
    }

    BigDecimal money(String field, boolean required) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        if (required) {
          error(field, "is required");
        }
        return null;
      }
      Money.Result result;
      if (value.isNumber()) {
        result = Money.check(value.decimalValue());
      } else if (value.isTextual()) {
        result = Money.parse(value.textValue());
      } else {
        error(field, "must be a decimal number (JSON number or string)");
        return null;
      }
      if (!result.ok()) {
        error(field, result.error());
        return null;
      }
      return result.value();
    }

    Boolean optionalBoolean(String field) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        return null;
      }
      if (!value.isBoolean()) {
        error(field, "must be true or false");
        return null;
      }
      return value.booleanValue();
    }
  }
}
