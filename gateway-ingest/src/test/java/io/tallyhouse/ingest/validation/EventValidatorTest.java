package io.tallyhouse.ingest.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every field rule of CONTRACT.md section 1, with its boundary values, one row each. */
public class EventValidatorTest {

  static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
  private final EventValidator validator =
      new EventValidator(Clock.fixed(NOW, ZoneOffset.UTC), Duration.ofDays(35), 1000);

  /** A valid event with only the required fields, created shortly before {@link #NOW}. */
  public static ObjectNode valid() {
    ObjectNode e = EventJson.MAPPER.createObjectNode();
    e.put("event_id", "gen-1");
    e.put("account_id", "acme");
    e.put("api_key_hash", "A".repeat(64));
    e.put("model", "openai/gpt-4o");
    e.put("provider_name", "OpenAI");
    e.put("created_at", "2026-11-22T10:15:30.123456789Z");
    e.put("cost", new BigDecimal("0.000123"));
    return e;
  }

  @Test
  void defaultsAreFilledAndValuesNormalised() {
    EventValidator.Outcome outcome = validator.validate(valid());
    assertTrue(outcome.valid(), outcome.errors().toString());
    UsageEvent e = outcome.events().get(0);
    assertEquals("a".repeat(64), e.getApiKeyHash());
    assertEquals("openai/gpt-4o", e.getModelPermaslug());
    assertEquals("OpenAI/openai/gpt-4o", e.getEndpointId());
    assertEquals(new BigDecimal("0.000123000000"), e.getCost());
    assertEquals(new BigDecimal("0E-12"), e.getByokCost());
    assertEquals(Instant.parse("2026-11-22T10:15:30.123456Z"), e.getCreatedAt());
    assertEquals(NOW, e.getReceivedAt());
    assertEquals(0L, e.getPromptTokens());
    assertNull(e.getUser());
    assertEquals(
        Workspaces.DEFAULT, e.getWorkspaceId(), "no workspace_id is the workspace default");
  }

  @Test
  void aWorkspaceIdIsKeptAsSentAndNullIsTheDefault() throws Exception {
    assertEquals(
        "0b8f6f4e-2f2c-4c1a-9d55-3c1d8e0a7b21",
        validator
            .validate(valid().put("workspace_id", "0b8f6f4e-2f2c-4c1a-9d55-3c1d8e0a7b21"))
            .events()
            .get(0)
            .getWorkspaceId());
    assertEquals(
        Workspaces.DEFAULT,
        validator.validate(valid().putNull("workspace_id")).events().get(0).getWorkspaceId());
  }

  static Stream<Arguments> rules() {
    String long129 = "x".repeat(129);
    return Stream.of(
        // field, JSON value (null = remove), valid?
        Arguments.of("event_id", null, false),
        Arguments.of("event_id", "\"\"", false),
        Arguments.of("event_id", "\"" + "x".repeat(128) + "\"", true),
        Arguments.of("event_id", "\"" + long129 + "\"", false),
        Arguments.of("event_id", "\"a b\"", false),
        Arguments.of("event_id", "\"a\\u0001\"", false),
        Arguments.of("event_id", "42", false),
        Arguments.of("event_id", "\"gen-" + "\ud83d\ude00".repeat(124) + "\"", true),
        Arguments.of("event_id", "\"gen-" + "\ud83d\ude00".repeat(125) + "\"", false),
        Arguments.of("event_id", "\"gen-\\ud83d\"", false),
        Arguments.of("event_id", "\"gen-\u3000x\"", false),
        Arguments.of("account_id", null, false),
        Arguments.of("account_id", "\"beta.corp:eu-1_A\"", true),
        Arguments.of("account_id", "\"acme/x\"", false),
        Arguments.of("account_id", "\"" + "a".repeat(128) + "\"", true),
        Arguments.of("account_id", "\"" + "a".repeat(129) + "\"", false),
        Arguments.of("api_key_hash", null, false),
        Arguments.of("api_key_hash", "\"" + "g".repeat(64) + "\"", false),
        Arguments.of("api_key_hash", "\"" + "a".repeat(63) + "\"", false),
        Arguments.of("api_key_hash", "\"" + "a".repeat(65) + "\"", false),
        Arguments.of("user", "null", true),
        Arguments.of("user", "\"Zoë 漢字 😀\"", true),
        Arguments.of("user", "\"\"", false),
        Arguments.of("user", "\"" + "😀".repeat(256) + "\"", true),
        Arguments.of("user", "\"" + "u".repeat(257) + "\"", false),
        Arguments.of("user", "\"tab\\there\"", false),
        Arguments.of("user", "\"lone \\udc00 low\"", false),
        Arguments.of("user", "\"pair \\ud83d\\ude00\"", true),
        Arguments.of("user", "\"reversed \\ude00\\ud83d\"", false),
        Arguments.of("model", null, false),
        Arguments.of("model", "\"" + "m".repeat(257) + "\"", false),
        Arguments.of("model", "\"" + "\ud800\udc00".repeat(256) + "\"", true),
        Arguments.of("model", "\"ends high \\ud800\"", false),
        Arguments.of("model", "\"group\\u001fseparator\"", false),
        Arguments.of("model_permaslug", "\"openai/gpt-4o-2024-08-06\"", true),
        Arguments.of("model_permaslug", "\"\"", false),
        Arguments.of("provider_name", null, false),
        Arguments.of("provider_name", "\"" + "p".repeat(129) + "\"", false),
        Arguments.of("endpoint_id", "\"" + "e".repeat(128) + "\"", true),
        Arguments.of("endpoint_id", "\"" + long129 + "\"", false),
        Arguments.of("app", "\"" + "a".repeat(257) + "\"", false),
        Arguments.of("created_at", null, false),
        Arguments.of("created_at", "\"2026-11-22T10:15:30\"", false),
        Arguments.of("created_at", "\"2026-11-22 10:15:30Z\"", false),
        Arguments.of("created_at", "\"2026-11-22T12:59:00+01:00\"", true),
        Arguments.of("created_at", "\"2026-11-22T12:05:00Z\"", true),
        Arguments.of("created_at", "\"2026-11-22T12:05:00.001Z\"", false),
        Arguments.of("created_at", "\"2026-10-18T12:00:00Z\"", true),
        Arguments.of("created_at", "\"2026-10-18T11:59:59.999Z\"", false),
        Arguments.of("prompt_tokens", "0", true),
        Arguments.of("prompt_tokens", "1000000000000", true),
        Arguments.of("prompt_tokens", "1000000000001", false),
        Arguments.of("completion_tokens", "-1", false),
        Arguments.of("reasoning_tokens", "1.5", false),
        Arguments.of("cached_tokens", "\"12\"", false),
        Arguments.of("cost", null, false),
        Arguments.of("cost", "0", true),
        Arguments.of("cost", "4.3022187e-05", true),
        Arguments.of("cost", "\"0.000000000001\"", true),
        Arguments.of("cost", "0.0000000000001", false),
        Arguments.of("cost", "\"1e-13\"", false),
        Arguments.of("cost", "-0.01", false),
        Arguments.of("cost", "\"NaN\"", false),
        Arguments.of("cost", "\"Infinity\"", false),
        Arguments.of("cost", "\"0x10\"", false),
        Arguments.of("cost", "true", false),
        Arguments.of("cost", "1000000000", true),
        Arguments.of("cost", "1e9", true),
        Arguments.of("cost", "\"1000000000.000000000000\"", true),
        Arguments.of("cost", "\"999999999.999999999999\"", true),
        Arguments.of("cost", "1000000000.000000000001", false),
        Arguments.of("cost", "\"1.000000001e9\"", false),
        Arguments.of("cost", "\"" + "9".repeat(26) + ".5\"", false),
        Arguments.of("cost", "1e9999", false),
        Arguments.of("byok_cost", "\"1.25\"", true),
        Arguments.of("byok_cost", "-1", false),
        Arguments.of("byok_cost", "1000000000", true),
        Arguments.of("byok_cost", "\"1000000000.000000000001\"", false),
        Arguments.of("workspace_id", "null", true),
        Arguments.of("workspace_id", "\"default\"", true),
        Arguments.of("workspace_id", "\"prod.eu:1_A-b\"", true),
        Arguments.of("workspace_id", "\"" + "w".repeat(128) + "\"", true),
        Arguments.of("workspace_id", "\"\"", false),
        Arguments.of("workspace_id", "\"" + "w".repeat(129) + "\"", false),
        Arguments.of("workspace_id", "\"team a\"", false),
        Arguments.of("workspace_id", "\"team/a\"", false),
        Arguments.of("workspace_id", "\"team\\u0001\"", false),
        Arguments.of("workspace_id", "\"team\\u001fa\"", false),
        Arguments.of("workspace_id", "\"team\\ud800\"", false),
        Arguments.of("workspace_id", "\"caf\u00e9\"", false),
        Arguments.of("workspace_id", "42", false),
        Arguments.of("workspace_id", "[\"a\"]", false),
        Arguments.of("is_byok", "true", true),
        Arguments.of("is_byok", "\"yes\"", false));
  }

  @ParameterizedTest(name = "{0} = {1} -> valid {2}")
  @MethodSource("rules")
  void fieldRule(String field, String json, boolean valid) throws Exception {
    ObjectNode event = valid();
    if (json == null) {
      event.remove(field);
    } else {
      event.set(field, EventJson.MAPPER.readTree(json));
    }
    EventValidator.Outcome outcome = validator.validate(event);
    assertEquals(valid, outcome.valid(), field + "=" + json + " -> " + outcome.errors());
    if (!valid) {
      assertEquals(1, outcome.errors().size(), outcome.errors().toString());
      FieldError error = outcome.errors().get(0);
      assertEquals(field, error.field());
      assertEquals(0, error.index());
      assertTrue(!error.message().isBlank());
    }
  }

  @Test
  void exponentMoneyIsExact() throws Exception {
    JsonNode body =
        EventJson.MAPPER.readTree(
            valid().put("cost", "x").toString().replace("\"x\"", "4.3022187e-05"));
    assertEquals(
        new BigDecimal("0.000043022187"), validator.validate(body).events().get(0).getCost());
  }

  @Test
  void arrayReportsEveryProblemByIndexAndAcceptsNothing() {
    var array = EventJson.MAPPER.createArrayNode();
    array.add(valid());
    array.add(valid().put("cost", "-1"));
    array.add(valid().put("account_id", "bad/id").put("model", ""));
    array.add(valid().put("workspace_id", "prod"));
    array.add(valid().put("workspace_id", 7));
    EventValidator.Outcome outcome = validator.validate(array);
    assertTrue(outcome.events().isEmpty());
    assertEquals(
        List.of(
            new FieldError(1, "cost", "must not be negative"),
            new FieldError(2, "account_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -"),
            new FieldError(2, "model", "must be 1-256 characters, got 0"),
            new FieldError(4, "workspace_id", "must be a string")),
        outcome.errors());
  }

  @Test
  void arraySizeLimits() {
    assertEquals(1, validator.validate(EventJson.MAPPER.createArrayNode()).errors().size());
    var big = EventJson.MAPPER.createArrayNode();
    for (int i = 0; i < 1001; i++) {
      big.add(valid().put("event_id", "e" + i));
    }
    assertTrue(validator.validate(big).errors().get(0).message().contains("1 to 1000"));
    big.remove(1000);
    assertEquals(1000, validator.validate(big).events().size());
  }

  @Test
  void duplicatesInsideOneRequestAreAccepted() {
    var array = EventJson.MAPPER.createArrayNode().add(valid()).add(valid());
    assertEquals(2, validator.validate(array).events().size());
  }

  @Test
  void nonObjectBodiesAreRefused() throws Exception {
    assertTrue(!validator.validate(EventJson.MAPPER.readTree("\"x\"")).valid());
    assertTrue(!validator.validate(EventJson.MAPPER.readTree("[1]")).valid());
  }
}
