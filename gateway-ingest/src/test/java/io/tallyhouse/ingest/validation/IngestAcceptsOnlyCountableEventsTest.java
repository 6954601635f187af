package io.tallyhouse.ingest.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.EventRules;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

/**
 * CONTRACT.md: "nothing downstream may refuse what ingest accepted". Every event the validator
 * accepts - the boundary of every rule and thousands of random valid events, supplementary
 * characters included - is, after the Avro round trip to the topic, countable by usage-stream's
 * check ({@link EventRules#violation}, which the stream's PoisonCheck is). And what ingest refuses
 * for a rule, the stream refuses for the same field.
 */
class IngestAcceptsOnlyCountableEventsTest {

  private static final Instant NOW = EventValidatorTest.NOW;
  private static final Duration WINDOW = Duration.ofDays(35);
  private static final String EMOJI = "\ud83d\ude00";
  private static final String MUSICAL_G_CLEF = "\ud834\udd1e";
  private final EventValidator validator =
      new EventValidator(Clock.fixed(NOW, ZoneOffset.UTC), WINDOW, 1000);

  @Test
  void everyBoundaryValueIngestAcceptsIsCountedByTheStream() {
    List<Consumer<ObjectNode>> boundaries =
        List.of(
            e -> e.put("event_id", "x"),
            e -> e.put("event_id", "e".repeat(128)),
            e -> e.put("event_id", EMOJI.repeat(128)),
            e -> e.put("event_id", "gen-" + EMOJI.repeat(124)),
            e -> e.put("account_id", "a"),
            e -> e.put("account_id", "aZ09._:-".repeat(16)),
            e -> e.put("workspace_id", "w"),
            e -> e.put("workspace_id", "aZ09._:-".repeat(16)),
            e -> e.putNull("workspace_id"),
            e -> e.put("api_key_hash", "0123456789abcdefABCDEF".repeat(3).substring(0, 64)),
            e -> e.put("user", MUSICAL_G_CLEF),
            e -> e.put("user", EMOJI.repeat(256)),
            e -> e.put("user", "\u6f22\u00a0\u3000\ufffd".repeat(64)),
            e ->
                e.put("model", EMOJI.repeat(256))
                    .put("model_permaslug", MUSICAL_G_CLEF.repeat(256))
                    .put("provider_name", EMOJI.repeat(128)),
            e -> e.put("model", "m").put("provider_name", "p"),
            e -> e.put("endpoint_id", EMOJI.repeat(128)).put("app", EMOJI.repeat(256)),
            e -> e.put("cost", BigDecimal.ZERO).put("byok_cost", "0"),
            e -> e.put("cost", new BigDecimal("1E+9")).put("byok_cost", "1000000000.000000000000"),
            e ->
                e.put("cost", "999999999.999999999999")
                    .put("byok_cost", new BigDecimal("0.000000000001")),
            e -> e.put("cost", "1e9").put("byok_cost", "1.000000000000000e9"),
            e ->
                e.put("prompt_tokens", EventRules.MAX_TOKENS)
                    .put("completion_tokens", EventRules.MAX_TOKENS)
                    .put("reasoning_tokens", EventRules.MAX_TOKENS)
                    .put("cached_tokens", EventRules.MAX_TOKENS),
            e -> e.put("prompt_tokens", 0).put("completion_tokens", 0),
            e -> e.put("created_at", NOW.plus(Duration.ofMinutes(5)).toString()),
            e -> e.put("created_at", NOW.minus(WINDOW).toString()),
            e ->
                e.put(
                    "created_at",
                    OffsetDateTime.ofInstant(
                            NOW.plus(Duration.ofMinutes(5)), ZoneOffset.ofHours(14))
                        .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)),
            e ->
                e.put(
                    "created_at",
                    OffsetDateTime.ofInstant(NOW.minus(WINDOW), ZoneOffset.ofHours(-12))
                        .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)));
    for (Consumer<ObjectNode> boundary : boundaries) {
      ObjectNode json = EventValidatorTest.valid();
      boundary.accept(json);
      assertCounted(acceptedEvent(json.toString()), json.toString());
    }
  }

  @Test
  void theLongestDefaultedEndpointIdIsCounted() {
    ObjectNode json =
        EventValidatorTest.valid()
            .put("provider_name", EMOJI.repeat(EventRules.PROVIDER_NAME_MAX))
            .put("model_permaslug", EMOJI.repeat(EventRules.MODEL_MAX));
    UsageEvent event = acceptedEvent(json.toString());
    assertEquals(
        EventRules.STORED_ENDPOINT_ID_MAX,
        event.getEndpointId().codePointCount(0, event.getEndpointId().length()));
    assertCounted(event, json.toString());
  }

  @Test
  void thousandsOfRandomValidEventsAreAcceptedAndCounted() {
    Random random = new Random(20261129);
    for (int i = 0; i < 5000; i++) {
      String json = randomValidEvent(random).toString();
      assertCounted(acceptedEvent(json), json);
    }
  }

  /**
   * A field value ingest refuses, and the same value in an Avro event written by another producer.
   */
  private record Refused(String field, String json, Consumer<UsageEvent> onTopic) {}

  @Test
  void whatIngestRefusesForAFieldRuleTheStreamRefusesForThatField() throws Exception {
    String loneHigh = "gen-\ud83d";
    List<Refused> refused =
        List.of(
            new Refused(
                "event_id",
                quoted("gen-" + EMOJI.repeat(125)),
                e -> e.setEventId("gen-" + EMOJI.repeat(125))),
            new Refused("event_id", quoted("a b"), e -> e.setEventId("a b")),
            new Refused("event_id", "\"gen-\\ud83d\"", e -> e.setEventId(loneHigh)),
            new Refused("account_id", quoted("acme/x"), e -> e.setAccountId("acme/x")),
            new Refused("workspace_id", quoted("team/x"), e -> e.setWorkspaceId("team/x")),
            new Refused("workspace_id", "\"\"", e -> e.setWorkspaceId("")),
            new Refused(
                "workspace_id", quoted("w".repeat(129)), e -> e.setWorkspaceId("w".repeat(129))),
            new Refused("workspace_id", "\"a\\u001fb\"", e -> e.setWorkspaceId("a\u001fb")),
            new Refused("user", "\"a\\udc00b\"", e -> e.setUser("a\udc00b")),
            new Refused("user", "\"u1\\u001facme\"", e -> e.setUser("u1\u001facme")),
            new Refused("user", quoted(EMOJI.repeat(257)), e -> e.setUser(EMOJI.repeat(257))),
            new Refused("model", quoted(EMOJI.repeat(257)), e -> e.setModel(EMOJI.repeat(257))),
            new Refused("model_permaslug", "\"\"", e -> e.setModelPermaslug("")),
            new Refused(
                "provider_name",
                quoted(EMOJI.repeat(129)),
                e -> e.setProviderName(EMOJI.repeat(129))),
            new Refused("app", "\"tab\\there\"", e -> e.setApp("tab\there")),
            new Refused(
                "cost",
                "1000000000.000000000001",
                e -> e.setCost(new BigDecimal("1000000000.000000000001"))),
            new Refused(
                "cost", "\"-0.000000000001\"", e -> e.setCost(new BigDecimal("-0.000000000001"))),
            new Refused(
                "byok_cost",
                "\"99999999999999999999999999\"",
                e -> e.setByokCost(new BigDecimal("99999999999999999999999999.000000000000"))),
            new Refused(
                "prompt_tokens", "1000000000001", e -> e.setPromptTokens(1_000_000_000_001L)),
            new Refused("cached_tokens", "-1", e -> e.setCachedTokens(-1L)));
    for (Refused r : refused) {
      ObjectNode json = EventValidatorTest.valid();
      json.set(r.field(), EventJson.MAPPER.readTree(r.json()));
      EventValidator.Outcome outcome = validator.validate(json);
      assertEquals(
          List.of(r.field()), outcome.errors().stream().map(FieldError::field).toList(), r.json());

      UsageEvent onTopic = acceptedEvent(EventValidatorTest.valid().toString());
      r.onTopic().accept(onTopic);
      EventRules.Violation violation = EventRules.violation(onTopic);
      assertNotNull(violation, r.field() + " " + r.json());
      assertEquals(r.field(), violation.field(), violation.toString());
    }
  }

  private UsageEvent acceptedEvent(String json) {
    try {
      EventValidator.Outcome outcome = validator.validate(EventJson.MAPPER.readTree(json));
      assertTrue(outcome.valid(), outcome.errors() + " for " + json);
      return outcome.events().get(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What usage-stream reads back from the topic is the same event, and its check counts it. */
  private static void assertCounted(UsageEvent accepted, String json) {
    UsageEvent onTopic = avroRoundTrip(accepted);
    assertEquals(accepted, onTopic, json);
    assertNull(EventRules.violation(onTopic), json);
  }

  private static UsageEvent avroRoundTrip(UsageEvent event) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
      new SpecificDatumWriter<>(UsageEvent.class).write(event, encoder);
      encoder.flush();
      return new SpecificDatumReader<>(UsageEvent.class)
          .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String quoted(String text) {
    return EventJson.MAPPER.getNodeFactory().textNode(text).toString();
  }

  private static ObjectNode randomValidEvent(Random random) {
    ObjectNode e = EventJson.MAPPER.createObjectNode();
    e.put("event_id", randomText(random, EventRules.EVENT_ID_MAX, true));
    e.put(
        "account_id",
        randomFrom(random, "ABCXYZabcxyz0189._:-", 1 + random.nextInt(EventRules.ACCOUNT_ID_MAX)));
    e.put("api_key_hash", randomFrom(random, "0123456789abcdefABCDEF", 64));
    e.put("model", randomText(random, EventRules.MODEL_MAX, false));
    e.put("provider_name", randomText(random, EventRules.PROVIDER_NAME_MAX, false));
    if (random.nextBoolean()) {
      e.put("user", randomText(random, EventRules.USER_MAX, false));
    }
    if (random.nextBoolean()) {
      e.put("model_permaslug", randomText(random, EventRules.MODEL_MAX, false));
    }
    if (random.nextBoolean()) {
      e.put("endpoint_id", randomText(random, EventRules.ENDPOINT_ID_MAX, false));
    }
    if (random.nextBoolean()) {
      e.put("app", randomText(random, EventRules.APP_MAX, false));
    }
    if (random.nextBoolean()) {
      e.put(
          "workspace_id",
          randomFrom(
              random, "ABCXYZabcxyz0189._:-", 1 + random.nextInt(EventRules.ACCOUNT_ID_MAX)));
    }
    long spanNanos = WINDOW.plusMinutes(5).toNanos();
    Instant createdAt =
        NOW.minus(WINDOW).plusNanos(Math.floorMod(random.nextLong(), spanNanos + 1));
    ZoneOffset offset = ZoneOffset.ofTotalSeconds((random.nextInt(26 * 4 + 1) - 12 * 4) * 15 * 60);
    e.put(
        "created_at",
        OffsetDateTime.ofInstant(createdAt, offset).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    for (String field :
        new String[] {"prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"}) {
      if (random.nextInt(4) > 0) {
        e.put(
            field,
            random.nextInt(8) == 0
                ? EventRules.MAX_TOKENS
                : Math.floorMod(random.nextLong(), EventRules.MAX_TOKENS + 1));
      }
    }
    putMoney(random, e, "cost");
    if (random.nextBoolean()) {
      putMoney(random, e, "byok_cost");
    }
    if (random.nextBoolean()) {
      e.put("is_byok", random.nextBoolean());
    }
    return e;
  }

  /**
   * 0 to 10^9 with up to 12 fractional digits, as a JSON number or a string, plain or with an
   * exponent.
   */
  private static void putMoney(Random random, ObjectNode e, String field) {
    int scale = random.nextInt(16) - 3;
    BigInteger bound = BigInteger.TEN.pow(9 + scale);
    BigInteger unscaled =
        random.nextInt(8) == 0
            ? bound
            : new BigInteger(bound.bitLength() + 1, random).mod(bound.add(BigInteger.ONE));
    BigDecimal amount = new BigDecimal(unscaled, scale);
    switch (random.nextInt(3)) {
      case 0 -> e.put(field, amount);
      case 1 -> e.put(field, amount.toString());
      default -> e.put(field, amount.toPlainString());
    }
  }

  /**
   * 1 to max code points (a quarter of them exactly max), drawn from ASCII, the rest of the BMP and
   * the supplementary planes; never a control character, a surrogate half, or with {@code
   * noWhitespace} a space.
   */
  private static String randomText(Random random, int max, boolean noWhitespace) {
    int length = random.nextInt(4) == 0 ? max : 1 + random.nextInt(max);
    StringBuilder s = new StringBuilder();
    while (s.codePointCount(0, s.length()) < length) {
      int cp =
          switch (random.nextInt(4)) {
            case 0 -> 0x20 + random.nextInt(0x7f - 0x20);
            case 1 -> 0xa0 + random.nextInt(0xd800 - 0xa0);
            case 2 -> 0xe000 + random.nextInt(0x10000 - 0xe000);
            default -> 0x10000 + random.nextInt(0x110000 - 0x10000);
          };
      if (noWhitespace && (Character.isWhitespace(cp) || Character.isSpaceChar(cp))) {
        continue;
      }
      s.appendCodePoint(cp);
    }
    return s.toString();
  }

  private static String randomFrom(Random random, String alphabet, int length) {
    StringBuilder s = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      s.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return s.toString();
  }
}
