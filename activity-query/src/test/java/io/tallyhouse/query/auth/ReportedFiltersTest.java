package io.tallyhouse.query.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.query.auth.ReportedFilters.Filter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Reported values are remembered per filter and account; unreported ones are asked again; nothing
 * is kept when told not to.
 */
class ReportedFiltersTest {

  private final List<String> asked = new ArrayList<>();
  private final Set<String> reported = Set.of("API_KEY_HASH/acme/aa", "WORKSPACE_ID/acme/ws");

  private boolean lookup(Filter filter, String account, String value) {
    String key = filter + "/" + account + "/" + value;
    asked.add(key);
    return reported.contains(key);
  }

  @Test
  void aReportedValueIsAskedOnceAnUnreportedOneEveryTime() {
    ReportedFilters filters = new ReportedFilters(this::lookup, true);
    assertFalse(filters.knownInMemory(Filter.API_KEY_HASH, "acme", "aa"));
    assertTrue(filters.known(Filter.API_KEY_HASH, "acme", "aa"));
    assertTrue(filters.known(Filter.API_KEY_HASH, "acme", "aa"));
    assertTrue(filters.knownInMemory(Filter.API_KEY_HASH, "acme", "aa"));
    assertFalse(filters.known(Filter.API_KEY_HASH, "acme", "bb"));
    assertFalse(filters.known(Filter.API_KEY_HASH, "acme", "bb"));
    assertFalse(filters.known(Filter.API_KEY_HASH, "beta", "aa"), "another account's hash");
    assertFalse(filters.knownInMemory(Filter.API_KEY_HASH, "beta", "aa"));
    assertEquals(
        List.of(
            "API_KEY_HASH/acme/aa",
            "API_KEY_HASH/acme/bb",
            "API_KEY_HASH/acme/bb",
            "API_KEY_HASH/beta/aa"),
        asked);
  }

  @Test
  void workspacesAndKeysAreRememberedApart() {
    ReportedFilters filters = new ReportedFilters(this::lookup, true);
    assertTrue(filters.known(Filter.WORKSPACE_ID, "acme", "ws"));
    assertTrue(filters.knownInMemory(Filter.WORKSPACE_ID, "acme", "ws"));
    assertFalse(filters.knownInMemory(Filter.API_KEY_HASH, "acme", "ws"), "not a key");
    assertFalse(filters.known(Filter.WORKSPACE_ID, "beta", "ws"), "another account's workspace");
    assertEquals(
        "Parameter workspace_id: no such workspace for this account",
        Filter.WORKSPACE_ID.unknownMessage());
    assertEquals(
        "Parameter api_key_hash: no such api key for this account",
        Filter.API_KEY_HASH.unknownMessage());
  }

  @Test
  void withoutRememberingEveryCheckAsks() {
    ReportedFilters filters = new ReportedFilters(this::lookup, false);
    assertTrue(filters.known(Filter.API_KEY_HASH, "acme", "aa"));
    assertTrue(filters.known(Filter.API_KEY_HASH, "acme", "aa"));
    assertFalse(filters.knownInMemory(Filter.API_KEY_HASH, "acme", "aa"));
    assertEquals(List.of("API_KEY_HASH/acme/aa", "API_KEY_HASH/acme/aa"), asked);
  }
}
