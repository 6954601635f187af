package io.tallyhouse.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.schemas.avro.UsageEvent;
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
import java.util.regex.Pattern;

/**
 * Turns a request body (one event object or an array of them) into Avro events, checking every rule of
 * CONTRACT.md section 1. It reports every problem of every event, so a client fixes a batch in one round trip.
 */
public final class EventValidator {

  static final long MAX_TOKENS = 1_000_000_000_000L;
  /** Every field of an event (CONTRACT.md section 1); others are ignored. */
  public static final List<String> FIELDS = List.of("event_id", "account_id", "api_key_hash", "user", "model",
      "model_permaslug", "provider_name", "endpoint_id", "created_at", "prompt_tokens", "completion_tokens",
      "reasoning_tokens", "cached_tokens", "cost", "is_byok", "byok_cost", "app");
  public static final List<String> REQUIRED = List.of("event_id", "account_id", "api_key_hash", "model",
      "provider_name", "created_at", "cost");
  private static final Duration MAX_FUTURE = Duration.ofMinutes(5);
  private static final Pattern ACCOUNT_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final Pattern HEX_64 = Pattern.compile("[0-9a-fA-F]{64}");
  private static final String[] TOKEN_FIELDS = {"prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"};

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
      errors.add(new FieldError(0, "", "an array must hold 1 to " + maxEvents + " events, got " + body.size()));
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
    String eventId = f.requiredString("event_id", 128);
    if (eventId != null && !noWhitespaceOrControl(eventId)) {
      f.error("event_id", "must not contain whitespace or control characters");
    }
    String accountId = f.requiredString("account_id", 128);
    if (accountId != null && !ACCOUNT_ID.matcher(accountId).matches()) {
      f.error("account_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
    }
    String apiKeyHash = f.requiredString("api_key_hash", 64);
    if (apiKeyHash != null && !HEX_64.matcher(apiKeyHash).matches()) {
      f.error("api_key_hash", "must be the SHA-256 of the API key: 64 hex characters");
    }
    String user = f.optionalString("user", 256);
    String model = f.requiredString("model", 256);
    String permaslug = f.optionalString("model_permaslug", 256);
    String provider = f.requiredString("provider_name", 128);
    String endpointId = f.optionalString("endpoint_id", 128);
    String app = f.optionalString("app", 256);
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
    return UsageEvent.newBuilder()
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
        .build();
  }

  private Instant createdAt(Fields f) {
    String text = f.requiredString("created_at", 64);
    if (text == null) {
      return null;
    }
    Instant instant;
    try {
      instant = OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      f.error("created_at", "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-21T10:15:30.123Z");
      return null;
    }
    Instant now = clock.instant();
    if (instant.isAfter(now.plus(MAX_FUTURE))) {
      f.error("created_at", "must not be more than 5 minutes in the future");
      return null;
    }
    if (instant.isBefore(now.minus(dedupWindow))) {
      f.error("created_at", "must not be older than the dedup window of " + dedupWindow.toDays() + " days");
      return null;
    }
    return instant.truncatedTo(ChronoUnit.MICROS);
  }

  // Plain loops over chars: every whitespace and control character is in the BMP, and this runs for every
  // string of every event (a code point stream showed up in profiles).
  static boolean noWhitespaceOrControl(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isWhitespace(c) || Character.isSpaceChar(c) || Character.isISOControl(c)) {
        return false;
      }
    }
    return true;
  }

  static boolean noControl(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (Character.isISOControl(s.charAt(i))) {
        return false;
      }
    }
    return true;
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

    String requiredString(String field, int maxLength) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        error(field, "is required");
        return null;
      }
      return string(field, value, maxLength);
    }

    String optionalString(String field, int maxLength) {
      JsonNode value = node.get(field);
      if (value == null || value.isNull()) {
        return null;
      }
      return string(field, value, maxLength);
    }

    private String string(String field, JsonNode value, int maxLength) {
      if (!value.isTextual()) {
        error(field, "must be a string");
        return null;
      }
      String text = value.textValue();
      int length = text.codePointCount(0, text.length());
      if (length < 1 || length > maxLength) {
        error(field, "must be 1-" + maxLength + " characters, got " + length);
        return null;
      }
      if (!noControl(text)) {
        error(field, "must not contain control characters");
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
      if (n.signum() < 0 || n.compareTo(BigInteger.valueOf(MAX_TOKENS)) > 0) {
        error(field, "must be between 0 and 10^12");
        return 0;
      }
      return n.longValueExact();
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
