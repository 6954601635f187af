package io.tallyhouse.schemas.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.tallyhouse.schemas.avro.UsageEvent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-written checks agree with the library definitions of the contract's rules they replace.
 */
class EventRulesTest {

  @Test
  void accountIdAndKeyHashChecksEqualTheContractsPatterns() {
    Pattern account = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    Pattern anyCaseHex = Pattern.compile("[0-9a-fA-F]{64}");
    Pattern lowerHex = Pattern.compile("[0-9a-f]{64}");
    String alphabet = "aZ09._:-/ \u00e9FfG\u001f'\"";
    Random random = new Random(11);
    for (int i = 0; i < 20_000; i++) {
      int length = random.nextInt(3) == 0 ? 64 : random.nextInt(140);
      StringBuilder s = new StringBuilder();
      for (int j = 0; j < length; j++) {
        s.append(
            random.nextInt(10) == 0
                ? alphabet.charAt(random.nextInt(alphabet.length()))
                : "0123456789abcdefABCDEF".charAt(random.nextInt(random.nextBoolean() ? 16 : 22)));
      }
      String value = s.toString();
      assertEquals(
          account.matcher(value).matches(), EventRules.accountIdProblem(value) == null, value);
      assertEquals(
          anyCaseHex.matcher(value).matches(), EventRules.apiKeyHashProblem(value) == null, value);
      assertEquals(
          lowerHex.matcher(value).matches(),
          EventRules.storedApiKeyHashProblem(value) == null,
          value);
    }
  }

  /**
   * The oracle is the JDK: a string is well-formed UTF-16 exactly when it survives a round trip
   * through UTF-8 (the encoder replaces a lone surrogate), its length is {@code codePointCount},
   * and control characters are ISO controls.
   */
  @Test
  void textChecksCountCodePointsAndRefuseLoneSurrogatesAndControlCharacters() {
    char[] alphabet = {
      'a', ' ', '\u3000', '\u0000', '\u001f', '\u007f', '\u0085', '\u00e9', '\ufffd', '\ud83d',
      '\ude00', '\ud800', '\udfff'
    };
    Random random = new Random(12);
    for (int i = 0; i < 50_000; i++) {
      StringBuilder s = new StringBuilder();
      int length = random.nextInt(12);
      for (int j = 0; j < length; j++) {
        s.append(
            random.nextInt(3) == 0 ? alphabet[random.nextInt(alphabet.length)] : "\ud83d\ude00");
      }
      String value = s.toString();
      int max = 1 + random.nextInt(12);
      boolean wellFormed =
          new String(value.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).equals(value);
      boolean control = value.chars().anyMatch(Character::isISOControl);
      boolean whitespace =
          value.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isSpaceChar(c));
      int codePoints = value.codePointCount(0, value.length());
      boolean lengthOk = codePoints >= 1 && codePoints <= max;
      assertEquals(
          wellFormed && !control && lengthOk, EventRules.textProblem(value, max) == null, value);
      assertEquals(
          wellFormed && !control && !whitespace && codePoints >= 1,
          EventRules.eventIdProblem(value) == null,
          value);
    }
  }

  @Test
  void lengthMessagesCountCodePoints() {
    String emoji = "\ud83d\ude00";
    assertNull(EventRules.eventIdProblem("gen-" + emoji.repeat(124)));
    assertEquals(
        "must be 1-128 characters, got 129", EventRules.eventIdProblem("gen-" + emoji.repeat(125)));
    assertEquals("must be 1-256 characters, got 0", EventRules.textProblem("", 256));
    assertNull(EventRules.textProblem(emoji.repeat(256), 256));
  }

  @Test
  void moneyIsZeroToTenToTheNinthWithTwelveFractionalDigits() {
    for (String ok :
        new String[] {
          "0",
          "0E-20",
          "0.000000000001",
          "1000000000",
          "1E+9",
          "999999999.999999999999",
          "1000000000.000000000000000",
          "1.5000000000000000"
        }) {
      assertNull(EventRules.moneyProblem(new BigDecimal(ok)), ok);
    }
    assertEquals(
        "must not be negative", EventRules.moneyProblem(new BigDecimal("-0.000000000001")));
    assertEquals(
        "must be at most 10^9 (1000000000)",
        EventRules.moneyProblem(new BigDecimal("1000000000.000000000001")));
    assertEquals(
        "must be at most 10^9 (1000000000)", EventRules.moneyProblem(new BigDecimal("1E+9999")));
    assertEquals(
        "must have at most 12 fractional digits",
        EventRules.moneyProblem(new BigDecimal("0.0000000000001")));
  }

  @Test
  void tokensAndTimesHaveInclusiveBounds() {
    assertNull(EventRules.tokensProblem(0));
    assertNull(EventRules.tokensProblem(1_000_000_000_000L));
    assertEquals("must be between 0 and 10^12", EventRules.tokensProblem(1_000_000_000_001L));
    assertEquals("must be between 0 and 10^12", EventRules.tokensProblem(-1));
    assertNull(EventRules.timeProblem(Instant.EPOCH));
    assertNull(EventRules.timeProblem(Instant.parse("2105-12-31T23:59:59.999999Z")));
    assertEquals(
        "must be between 1970-01-01 and 2105-12-31 (UTC), the range of ClickHouse's DateTime",
        EventRules.timeProblem(Instant.parse("2106-01-01T00:00:00Z")));
    assertEquals(
        "must be between 1970-01-01 and 2105-12-31 (UTC), the range of ClickHouse's DateTime",
        EventRules.timeProblem(Instant.parse("1969-12-31T23:59:59.999999Z")));
  }

  @Test
  void anEventWithoutAWorkspaceBelongsToTheDefaultOneAndIsCounted() {
    UsageEvent e = event().build();
    assertEquals(Workspaces.DEFAULT, e.getWorkspaceId());
    assertNull(EventRules.violation(e));
  }

  @Test
  void workspaceIdsFollowTheAccountIdRule() {
    for (String ok :
        List.of(
            "default", "w", "a".repeat(128), "aZ09._:-", "0b8f6f4e-2f2c-4c1a-9d55-3c1d8e0a7b21")) {
      assertNull(EventRules.violation(event().setWorkspaceId(ok).build()), ok);
    }
    String rule = "must be 1-128 characters of A-Z a-z 0-9 . _ : -";
    for (String hostile :
        List.of(
            "",
            "a".repeat(129),
            "team a",
            "team\u0007",
            "team\ud800",
            "\udc00",
            "team/a",
            "../a",
            "a\u001fb",
            "caf\u00e9",
            "'; DROP TABLE usage_daily; --")) {
      assertEquals(
          new EventRules.Violation("workspace_id", rule),
          EventRules.violation(event().setWorkspaceId(hostile).build()),
          hostile);
    }
  }

  /** An event breaking no rule. */
  private static UsageEvent.Builder event() {
    Instant t = Instant.parse("2026-11-20T10:00:00Z");
    return UsageEvent.newBuilder()
        .setEventId("gen-1")
        .setAccountId("acme")
        .setApiKeyHash("a".repeat(64))
        .setModel("openai/gpt-4o")
        .setModelPermaslug("openai/gpt-4o")
        .setProviderName("OpenAI")
        .setEndpointId("OpenAI/openai/gpt-4o")
        .setCreatedAt(t)
        .setCost(new BigDecimal("0.000123").setScale(Money.SCALE))
        .setByokCost(BigDecimal.ZERO.setScale(Money.SCALE))
        .setReceivedAt(t);
  }
}
