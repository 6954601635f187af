package io.tallyhouse.ingest.validation;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;

/**
 * Says in the API's own words why a body is not acceptable JSON. The parser's messages name its
 * classes and settings ({@code StreamReadConstraints.getMaxNestingDepth()}, {@code
 * DeserializationFeature...}), which mean nothing to a client and tell an attacker what runs here,
 * so none of their text reaches an answer.
 */
final class JsonProblem {

  private JsonProblem() {}

  static String describe(JsonProcessingException e, StreamReadConstraints limits) {
    String raw = String.valueOf(e.getOriginalMessage());
    if (raw.startsWith("Duplicate field")) {
      return "Malformed JSON: duplicate key \"" + duplicateKey(e, raw) + "\"" + at(e.getLocation());
    }
    if (e instanceof StreamConstraintsException) {
      // Limits are checked before the parser has a location to report.
      if (raw.contains("nesting depth")) {
        return "Malformed JSON: nesting deeper than " + limits.getMaxNestingDepth() + " levels";
      }
      if (raw.startsWith("Number value length")) {
        return "Malformed JSON: a number longer than "
            + limits.getMaxNumberLength()
            + " characters";
      }
      if (raw.startsWith("String value length")) {
        return "Malformed JSON: a string longer than "
            + limits.getMaxStringLength()
            + " characters";
      }
      if (raw.startsWith("Name length")) {
        return "Malformed JSON: a key longer than " + limits.getMaxNameLength() + " characters";
      }
      return "Malformed JSON: the document exceeds a parsing limit";
    }
    if (e instanceof JsonEOFException) {
      return "Malformed JSON: the text ends inside a value" + at(e.getLocation());
    }
    return "Malformed JSON" + at(e.getLocation());
  }

  private static String duplicateKey(JsonProcessingException e, String raw) {
    if (e.getProcessor() instanceof JsonParser parser) {
      try {
        if (parser.currentName() != null) {
          return parser.currentName();
        }
      } catch (java.io.IOException ignored) {
        // fall back to the name quoted in the message
      }
    }
    int open = raw.indexOf('\'');
    int close = raw.indexOf('\'', open + 1);
    return open >= 0 && close > open ? raw.substring(open + 1, close) : "?";
  }

  private static String at(JsonLocation location) {
    return location == null || location.getLineNr() < 1
        ? ""
        : " at line " + location.getLineNr() + " column " + location.getColumnNr();
  }
}
