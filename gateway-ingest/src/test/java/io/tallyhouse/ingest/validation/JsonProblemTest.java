package io.tallyhouse.ingest.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Bad JSON is described in the API's own words: the key, the limit or the place, never the parser's
 * internals.
 */
public class JsonProblemTest {

  /**
   * A Java class or package name (com.fasterxml..., StreamReadConstraints.get...), or the parser's
   * name.
   */
  public static final Pattern INTERNALS =
      Pattern.compile(
          "(?i)jackson|fasterxml|StreamRead|DeserializationFeature|Exception|`|\\b[a-z]+\\.[a-z]+\\.[A-Za-z]|[A-Z][a-z]+[A-Z]\\w*\\.\\w+\\(");

  static String problem(String json) {
    JsonProcessingException e =
        assertThrows(
            JsonProcessingException.class,
            () -> EventJson.MAPPER.readTree(json.getBytes(StandardCharsets.UTF_8)));
    String message = JsonProblem.describe(e, EventJson.MAPPER.getFactory().streamReadConstraints());
    assertFalse(INTERNALS.matcher(message).find(), message);
    return message;
  }

  @Test
  void aKeyGivenTwiceIsRefusedNamingTheKey() {
    assertEquals(
        "Malformed JSON: duplicate key \"cost\" at line 2 column 9",
        problem("{\"event_id\":\"a\",\"cost\":1,\n \"cost\":1000}"));
    assertEquals(
        "Malformed JSON: duplicate key \"user\" at line 1 column 40",
        problem("[{\"user\":\"a\"},{\"user\":\"b\",\"x\":1,\"user\":\"c\"}]"));
  }

  @Test
  void deepNestingNamesTheLimitNotTheParser() {
    assertEquals(
        "Malformed JSON: nesting deeper than " + EventJson.MAX_NESTING + " levels",
        problem("[".repeat(EventJson.MAX_NESTING + 1) + "]".repeat(EventJson.MAX_NESTING + 1)));
  }

  @Test
  void anOverlongNumberNamesTheLimit() {
    assertEquals(
        "Malformed JSON: a number longer than 1000 characters",
        problem("{\"cost\":" + "1".repeat(1001) + "}"));
  }

  @Test
  void brokenTextNamesLineAndColumn() {
    // The place is where the parser stopped: at or just after the offending token.
    assertEquals(
        java.util.List.of(
            "Malformed JSON at line 1 column 13",
            "Malformed JSON at line 2 column 6",
            "Malformed JSON: the text ends inside a value at line 1 column 13",
            "Malformed JSON at line 1 column 9",
            "Malformed JSON at line 1 column 8"),
        java.util.stream.Stream.of(
                "{\"cost\":tru}",
                "{\"a\":1,\n \"b\" 2}",
                "{\"event_id\":",
                "{\"a\":1} {\"b\":2}",
                "{\"a\":\"x\u0001\"}")
            .map(JsonProblemTest::problem)
            .toList());
  }
}
