package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.schemas.contract.Workspaces;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The activity API's answer computed independently of the pipeline, straight from the events a test
 * sent: distinct by (account, event_id), inside the 30-day window, grouped and ordered as
 * CONTRACT.md section 3 says.
 */
final class ExpectedActivity {

  /**
   * One event as the test sent it, with the contract's defaults already applied.
   *
   * @param workspaceId the workspace_id sent, null when the event names none
   */
  record SentEvent(
      String eventId,
      String account,
      String apiKeyHash,
      String user,
      String model,
      String permaslug,
      String provider,
      String endpointId,
      Instant createdAt,
      long promptTokens,
      long completionTokens,
      long reasoningTokens,
      long cachedTokens,
      BigDecimal cost,
      boolean byok,
      BigDecimal byokCost,
      String workspaceId) {

    LocalDate day() {
      return LocalDate.ofInstant(createdAt, ZoneOffset.UTC);
    }

    /** The workspace the event belongs to: the one it names, else {@code default}. */
    String workspace() {
      return workspaceId == null ? Workspaces.DEFAULT : workspaceId;
    }
  }

  private ExpectedActivity() {}

  /** The items without {@code group_by=workspace}: summed across workspaces. */
  static List<Map<String, Object>> of(
      List<SentEvent> sent,
      String account,
      LocalDate today,
      boolean byUser,
      boolean byKey,
      Predicate<SentEvent> filter) {
    return of(sent, account, today, false, byUser, byKey, filter);
  }

  /**
   * The items of {@code account}'s window for the events {@code filter} keeps, grouped by (date,
   * endpoint) and, as the flags say, by workspace, user and api key.
   */
  static List<Map<String, Object>> of(
      List<SentEvent> sent,
      String account,
      LocalDate today,
      boolean byWorkspace,
      boolean byUser,
      boolean byKey,
      Predicate<SentEvent> filter) {
    Set<String> seen = new LinkedHashSet<>();
    Map<List<Object>, Map<String, Object>> groups =
        new TreeMap<>(Comparator.comparing(Object::toString));
    for (SentEvent e : sent) {
      if (!seen.add(e.account() + "\u0000" + e.eventId())) {
        continue;
      }
      if (!e.account().equals(account)
          || e.day().isBefore(today.minusDays(30))
          || !e.day().isBefore(today)
          || !filter.test(e)) {
        continue;
      }
      List<Object> key =
          new ArrayList<>(List.of(e.day(), e.endpointId(), e.model(), e.permaslug(), e.provider()));
      if (byWorkspace) {
        key.add(e.workspace());
      }
      if (byUser) {
        key.add(String.valueOf(e.user()));
      }
      if (byKey) {
        key.add(e.apiKeyHash());
      }
      Map<String, Object> item =
          groups.computeIfAbsent(
              key,
              k -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("date", e.day().toString());
                m.put("model", e.model());
                m.put("model_permaslug", e.permaslug());
                m.put("endpoint_id", e.endpointId());
                m.put("provider_name", e.provider());
                m.put("usage", BigDecimal.ZERO);
                m.put("byok_usage_inference", BigDecimal.ZERO);
                m.put("requests", 0L);
                m.put("prompt_tokens", 0L);
                m.put("completion_tokens", 0L);
                m.put("reasoning_tokens", 0L);
                m.put("cached_tokens", 0L);
                m.put("byok_requests", 0L);
                if (byWorkspace) {
                  m.put("workspace_id", e.workspace());
                }
                if (byUser) {
                  m.put("user_id", e.user());
                }
                if (byKey) {
                  m.put("api_key_hash", e.apiKeyHash());
                }
                return m;
              });
      item.put("usage", ((BigDecimal) item.get("usage")).add(e.cost()));
      item.put(
          "byok_usage_inference",
          ((BigDecimal) item.get("byok_usage_inference")).add(e.byokCost()));
      item.merge("requests", 1L, (a, b) -> (Long) a + (Long) b);
      item.merge("prompt_tokens", e.promptTokens(), (a, b) -> (Long) a + (Long) b);
      item.merge("completion_tokens", e.completionTokens(), (a, b) -> (Long) a + (Long) b);
      item.merge("reasoning_tokens", e.reasoningTokens(), (a, b) -> (Long) a + (Long) b);
      item.merge("cached_tokens", e.cachedTokens(), (a, b) -> (Long) a + (Long) b);
      item.merge("byok_requests", e.byok() ? 1L : 0L, (a, b) -> (Long) a + (Long) b);
    }
    List<Map<String, Object>> items = new ArrayList<>(groups.values());
    items.sort(
        Comparator.<Map<String, Object>, String>comparing(m -> (String) m.get("date"))
            .reversed()
            .thenComparing(m -> (BigDecimal) m.get("usage"), Comparator.reverseOrder())
            .thenComparing(m -> (String) m.get("endpoint_id"))
            .thenComparing(
                m -> (String) m.get("workspace_id"),
                Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(
                m -> (String) m.get("user_id"), Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(
                m -> (String) m.get("api_key_hash"),
                Comparator.nullsFirst(Comparator.naturalOrder())));
    return items;
  }

  /** The request body gateway-ingest takes for {@code events}, in the forms the contract allows. */
  static String requestBody(List<SentEvent> events) throws IOException {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
      g.writeStartArray();
      int i = 0;
      for (SentEvent e : events) {
        g.writeStartObject();
        g.writeStringField("event_id", e.eventId());
        g.writeStringField("account_id", e.account());
        // Either case is accepted; half the events send the hash in upper case.
        g.writeStringField(
            "api_key_hash", i++ % 2 == 0 ? e.apiKeyHash() : e.apiKeyHash().toUpperCase());
        if (e.user() != null) {
          g.writeStringField("user", e.user());
        }
        g.writeStringField("model", e.model());
        // model_permaslug and endpoint_id take their defaults when they equal them.
        if (!e.permaslug().equals(e.model())) {
          g.writeStringField("model_permaslug", e.permaslug());
        }
        g.writeStringField("provider_name", e.provider());
        g.writeStringField("created_at", e.createdAt().toString());
        g.writeNumberField("prompt_tokens", e.promptTokens());
        g.writeNumberField("completion_tokens", e.completionTokens());
        g.writeNumberField("reasoning_tokens", e.reasoningTokens());
        g.writeNumberField("cached_tokens", e.cachedTokens());
        // Money as a JSON number in exponent form and as a string: both are exact.
        if (i % 2 == 0) {
          g.writeFieldName("cost");
          g.writeNumber(e.cost().stripTrailingZeros().toString());
        } else {
          g.writeStringField("cost", e.cost().toPlainString());
        }
        g.writeBooleanField("is_byok", e.byok());
        if (e.workspaceId() != null) {
          g.writeStringField("workspace_id", e.workspaceId());
        }
        if (e.byok()) {
          g.writeFieldName("byok_cost");
          g.writeNumber(e.byokCost().toPlainString());
        }
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    return out.toString();
  }

  /** Asserts that the activity API's {@code actual} data equals {@code expected}. */
  static void assertAnswer(List<Map<String, Object>> expected, JsonNode actual, String query) {
    assertEquals(expected.size(), actual.size(), "items for ?" + query);
    for (int i = 0; i < expected.size(); i++) {
      Map<String, Object> want = expected.get(i);
      JsonNode got = actual.get(i);
      List<String> names = new ArrayList<>();
      for (Iterator<String> it = got.fieldNames(); it.hasNext(); ) {
        names.add(it.next());
      }
      assertEquals(
          List.copyOf(want.keySet()).stream().sorted().toList(),
          names.stream().sorted().toList(),
          "fields of item " + i);
      for (Map.Entry<String, Object> field : want.entrySet()) {
        JsonNode value = got.get(field.getKey());
        Object w = field.getValue();
        String where = "item " + i + " field " + field.getKey() + " for ?" + query;
        if (w instanceof BigDecimal decimal) {
          assertTrue(value.isNumber(), where + " is a JSON number");
          assertEquals(
              0, decimal.compareTo(value.decimalValue()), where + ": " + decimal + " vs " + value);
        } else if (w instanceof Long count) {
          assertTrue(value.isIntegralNumber(), where + " is an integer");
          assertEquals(count.longValue(), value.longValue(), where);
        } else if (w == null) {
          assertTrue(value.isNull(), where + " is null");
        } else {
          assertEquals(w, value.asText(), where);
        }
      }
    }
  }
}
