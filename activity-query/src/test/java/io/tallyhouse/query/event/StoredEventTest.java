package io.tallyhouse.query.event;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a stored event is written: every field, exact money, times with microseconds. */
class StoredEventTest {

  private static String json(StoredEvent event) throws Exception {
    StringWriter out = new StringWriter();
    try (JsonGenerator json = new JsonFactory().createGenerator(out)) {
      event.writeTo(json);
    }
    return out.toString();
  }

  private static StoredEvent event(String user, String app, String cost, String byokCost) {
    return new StoredEvent(
        "gen-\"1\"",
        "acme",
        "ab".repeat(32),
        user,
        "openai/gpt-4o",
        "openai/gpt-4o-2024-08-06",
        "OpenAI",
        "OpenAI/openai/gpt-4o-2024-08-06",
        1_795_256_130_123_456L,
        1_000_000_000_000L,
        20,
        3,
        0,
        new BigDecimal(cost),
        true,
        new BigDecimal(byokCost),
        app,
        "ws-1",
        1_795_256_131_000_001L);
  }

  @Test
  void everyFieldInTheContractsOrderWithExactMoneyAndMicroseconds() throws Exception {
    assertEquals(
        "{\"event_id\":\"gen-\\\"1\\\"\",\"account_id\":\"acme\",\"api_key_hash\":\""
            + "ab".repeat(32)
            + "\",\"user\":\"ü'ser\",\"model\":\"openai/gpt-4o\","
            + "\"model_permaslug\":\"openai/gpt-4o-2024-08-06\",\"provider_name\":\"OpenAI\","
            + "\"endpoint_id\":\"OpenAI/openai/gpt-4o-2024-08-06\","
            + "\"created_at\":\"2026-11-21T10:15:30.123456Z\",\"prompt_tokens\":1000000000000,"
            + "\"completion_tokens\":20,\"reasoning_tokens\":3,\"cached_tokens\":0,"
            + "\"cost\":999999999.999999999999,\"is_byok\":true,\"byok_cost\":0.000000000001,"
            + "\"app\":\"my-app\",\"workspace_id\":\"ws-1\","
            + "\"received_at\":\"2026-11-21T10:15:31.000001Z\"}",
        json(event("ü'ser", "my-app", "999999999.999999999999", "0.000000000001")));
  }

  @Test
  void theFieldsWrittenAreFieldsInTheirOrder() throws Exception {
    for (StoredEvent event :
        List.of(event("u", "a", "1", "0"), event(null, null, "0.000000000001", "999999999"))) {
      List<String> names = new ArrayList<>();
      new ObjectMapper().readTree(json(event)).fieldNames().forEachRemaining(names::add);
      assertEquals(StoredEvent.FIELDS, names);
    }
  }

  @Test
  void noUserAndNoAppAreNullAndMoneyLosesOnlyTrailingZeros() throws Exception {
    String json = json(event(null, null, "1500.000000000000", "0E-12"));
    assertEquals(true, json.contains("\"user\":null,"), json);
    assertEquals(true, json.contains("\"app\":null,"), json);
    assertEquals(true, json.contains("\"cost\":1500,"), json);
    assertEquals(true, json.contains("\"byok_cost\":0,"), json);
  }

  @Test
  void timesKeepSixFractionDigitsEvenWhenZero() {
    assertEquals("1970-01-01T00:00:00.000000Z", StoredEvent.rfc3339(0));
    assertEquals("2026-11-21T00:00:00.000000Z", StoredEvent.rfc3339(1_795_219_200_000_000L));
    assertEquals("2105-12-31T23:59:59.999999Z", StoredEvent.rfc3339(4_291_747_199_999_999L));
  }
}
