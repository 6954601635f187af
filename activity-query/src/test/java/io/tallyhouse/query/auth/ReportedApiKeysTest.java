package io.tallyhouse.query.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Reported hashes are remembered per account; unreported ones are asked again; nothing is kept when
 * told not to.
 */
class ReportedApiKeysTest {

  private final List<String> asked = new ArrayList<>();
  private final Set<String> reported = Set.of("acme/aa");

  private boolean lookup(String account, String hash) {
    asked.add(account + "/" + hash);
    return reported.contains(account + "/" + hash);
  }

  @Test
  void aReportedHashIsAskedOnceAnUnreportedOneEveryTime() {
    ReportedApiKeys keys = new ReportedApiKeys(this::lookup, true);
    assertFalse(keys.knownInMemory("acme", "aa"));
    assertTrue(keys.known("acme", "aa"));
    assertTrue(keys.known("acme", "aa"));
    assertTrue(keys.knownInMemory("acme", "aa"));
    assertFalse(keys.known("acme", "bb"));
    assertFalse(keys.known("acme", "bb"));
    assertFalse(keys.known("beta", "aa"), "another account's hash");
    assertFalse(keys.knownInMemory("beta", "aa"));
    assertEquals(List.of("acme/aa", "acme/bb", "acme/bb", "beta/aa"), asked);
  }

  @Test
  void withoutRememberingEveryCheckAsks() {
    ReportedApiKeys keys = new ReportedApiKeys(this::lookup, false);
    assertTrue(keys.known("acme", "aa"));
    assertTrue(keys.known("acme", "aa"));
    assertFalse(keys.knownInMemory("acme", "aa"));
    assertEquals(List.of("acme/aa", "acme/aa"), asked);
  }
}
