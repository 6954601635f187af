package io.tallyhouse.common.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ErrorEnvelopeTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void envelopeWithoutMetadataHasCodeAndMessageOnly() {
    assertEquals(
        "{\"error\":{\"code\":401,\"message\":\"Missing key\"}}",
        ErrorEnvelope.json(401, "Missing key", null));
  }

  @Test
  void metadataIsNestedUnderError() throws Exception {
    Map<String, Object> problem = new LinkedHashMap<>();
    problem.put("index", 0);
    problem.put("field", "cost");
    problem.put("message", "must be >= 0");
    String json = ErrorEnvelope.json(400, "Invalid events", Map.of("errors", List.of(problem)));
    assertEquals(
        JSON.readTree(
            "{\"error\":{\"code\":400,\"message\":\"Invalid events\",\"metadata\":{\"errors\":"
                + "[{\"index\":0,\"field\":\"cost\",\"message\":\"must be >= 0\"}]}}}"),
        JSON.readTree(json));
  }
}
