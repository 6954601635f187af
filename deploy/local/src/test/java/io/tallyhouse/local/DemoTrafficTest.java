package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** {@code make run DEMO=1} on kept data posts copies of what it posted before, never new twins. */
class DemoTrafficTest {

  private static final LocalDate DAY = LocalDate.parse("2026-11-03");
  private static final Instant LATER = Instant.parse("2026-12-01T00:00:00Z");

  private static DemoTraffic generatedOn(String instant) {
    return new DemoTraffic(
        "http://127.0.0.1:1", "token", "demo", Clock.fixed(Instant.parse(instant), ZoneOffset.UTC));
  }

  @Test
  void aDaysEventsAreTheSameWhicheverDayTheyAreGeneratedOn() throws Exception {
    List<String> first = generatedOn("2026-11-04T08:00:00Z").eventsOf(DAY, 200, LATER);
    List<String> again = generatedOn("2026-11-20T17:30:00Z").eventsOf(DAY, 200, LATER);
    assertFalse(first.isEmpty());
    assertEquals(first, again);
    assertTrue(first.get(0).contains("\"event_id\":\"demo-2026-11-03-0\""), first.get(0));
  }

  @Test
  void todaySoFarIsAPartOfTheWholeDayWithTheSameEvents() throws Exception {
    DemoTraffic demo = generatedOn("2026-11-03T12:00:00Z");
    List<String> morning = demo.eventsOf(DAY, 200, Instant.parse("2026-11-03T12:00:00Z"));
    List<String> wholeDay = demo.eventsOf(DAY, 200, LATER);
    assertTrue(morning.size() < wholeDay.size(), morning.size() + " of " + wholeDay.size());
    assertTrue(wholeDay.containsAll(morning));
  }

  @Test
  void otherDaysHaveOtherEventIds() throws Exception {
    DemoTraffic demo = generatedOn("2026-11-20T00:00:00Z");
    String nextDay = demo.eventsOf(DAY.plusDays(1), 200, LATER).get(0);
    assertTrue(nextDay.contains("\"event_id\":\"demo-2026-11-04-0\""), nextDay);
    assertNotEquals(demo.eventsOf(DAY, 200, LATER).get(0), nextDay);
  }

  /**
   * The activity API has workspaces to show: every key stays in one workspace, and some events name
   * none (the workspace default).
   */
  @Test
  void theDemoKeysAreSpreadOverWorkspacesAndSomeEventsNameNone() throws Exception {
    Map<String, Set<String>> workspacesByKey = new HashMap<>();
    for (String json : generatedOn("2026-11-20T00:00:00Z").eventsOf(DAY, 400, LATER)) {
      JsonNode event = new ObjectMapper().readTree(json);
      workspacesByKey
          .computeIfAbsent(event.get("api_key_hash").asText(), k -> new TreeSet<>())
          .add(event.has("workspace_id") ? event.get("workspace_id").asText() : "(none)");
    }
    assertEquals(3, workspacesByKey.size(), workspacesByKey.toString());
    workspacesByKey.values().forEach(w -> assertEquals(1, w.size(), workspacesByKey.toString()));
    assertEquals(
        Set.of("production", "staging", "(none)"),
        workspacesByKey.values().stream().flatMap(Set::stream).collect(Collectors.toSet()));
  }
}
