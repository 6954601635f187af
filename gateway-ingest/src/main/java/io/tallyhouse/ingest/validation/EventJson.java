package io.tallyhouse.ingest.validation;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;

/**
 * How the JSON text of a request body is read into a tree, and why a text is refused, in the API's
 * own words.
 */
public final class EventJson {

  /**
   * An array of event objects is two levels deep; the rest is room for field values the validator
   * refuses.
   */
  public static final int MAX_NESTING = 32;

  /**
   * Exact decimals: every JSON number with a fraction or exponent becomes a BigDecimal parsed from
   * its text. A key given twice in one object is refused (the last value would silently win: {@code
   * "cost":1,"cost":1000}); events are flat, so nesting is capped far below the parser's default.
   */
  public static final ObjectMapper MAPPER =
      JsonMapper.builder(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build())
                  .build())
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
          .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
          .build();

  private EventJson() {}

  /**
   * The tree of {@code body}; a body that is not acceptable JSON throws with the client's message.
   */
  public static JsonNode read(byte[] body) throws MalformedJsonException {
    try {
      return MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new MalformedJsonException(
          JsonProblem.describe(e, MAPPER.getFactory().streamReadConstraints()));
    } catch (IOException e) {
      throw new MalformedJsonException("Malformed JSON");
    }
  }

  /** A body that is not acceptable JSON; the message is the answer's, free of parser internals. */
  public static final class MalformedJsonException extends Exception {
    MalformedJsonException(String message) {
      // Answered as a 400, possibly many times a second: the stack trace would be of no use to
      // anyone.
      super(message, null, false, false);
    }
  }
}
