package io.tallyhouse.query.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who a header names, and that only keys found valid before are known valid without reading the key
 * file.
 */
class ManagementKeysTest {

  @TempDir Path dir;

  @Test
  void aManagementKeyNamesItsAccountAndIsRememberedUntilRevoked() {
    CredentialStore store = new CredentialStore(dir.resolve("keys.jsonl"));
    String secret = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    store.add(secret, CredentialKind.MANAGEMENT, "acme", List.of(), "test");
    ManagementKeys keys = new ManagementKeys(store);

    assertFalse(keys.knownValid("Bearer " + secret), "not looked up yet");
    assertEquals(
        new ManagementKeys.Caller("acme", ManagementKeys.Outcome.VALID),
        keys.authenticate("bearer  " + secret + " "));
    assertTrue(keys.knownValid("Bearer " + secret));

    store.revoke(Secrets.sha256Hex(secret));
    assertEquals(ManagementKeys.Outcome.UNKNOWN, keys.authenticate("Bearer " + secret).outcome());
    assertFalse(keys.knownValid("Bearer " + secret), "forgotten once found revoked");
  }

  @Test
  void otherHeadersAreRefusedWithTheirReason() {
    CredentialStore store = new CredentialStore(dir.resolve("keys.jsonl"));
    String ingest = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    store.add(ingest, CredentialKind.INGEST, null, List.of(), "test");
    ManagementKeys keys = new ManagementKeys(store);

    assertEquals(ManagementKeys.Outcome.MISSING, keys.authenticate(null).outcome());
    assertEquals(ManagementKeys.Outcome.UNKNOWN, keys.authenticate("Basic abc").outcome());
    assertEquals(ManagementKeys.Outcome.UNKNOWN, keys.authenticate("Bearer nope").outcome());
    assertEquals(
        ManagementKeys.Outcome.NOT_MANAGEMENT, keys.authenticate("Bearer " + ingest).outcome());
    assertFalse(keys.knownValid("Bearer " + ingest));
    assertFalse(keys.knownValid(null));
  }
}
