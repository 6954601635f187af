package io.tallyhouse.local;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
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

  /** One event as the test sent it, with the contract's defaults already applied. */
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
      BigDecimal byokCost) {

    LocalDate day() {
      return LocalDate.ofInstant(createdAt, ZoneOffset.UTC);
    }
  }

  private ExpectedActivity() {}

  static List<Map<String, Object>> of(
      List<SentEvent> sent,
      String account,
      LocalDate today,
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
                m -> (String) m.get("user_id"), Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(
                m -> (String) m.get("api_key_hash"),
                Comparator.nullsFirst(Comparator.naturalOrder())));
    return items;
  }
}
