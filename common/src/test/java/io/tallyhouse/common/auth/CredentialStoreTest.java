package io.tallyhouse.common.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialStoreTest {

  @TempDir Path dir;

  @Test
  void onlyTheHashOfASecretIsStored() throws Exception {
    CredentialStore store = new CredentialStore(dir.resolve("keys.jsonl"));
    String secret = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    store.add(secret, CredentialKind.MANAGEMENT, "acme", List.of(), "laptop");

    String file = Files.readString(dir.resolve("keys.jsonl"));
    assertFalse(file.contains(secret));
    assertTrue(file.contains(Secrets.sha256Hex(secret)));
  }

  @Test
  void authenticateFindsTheCredentialOfASecretAndNothingElse() {
    CredentialStore store = new CredentialStore(dir.resolve("keys.jsonl"));
    String management = "th_mk_one";
    String ingest = "th_it_two";
    store.add(management, CredentialKind.MANAGEMENT, "acme", List.of(), "");
    store.add(ingest, CredentialKind.INGEST, null, List.of("acme", "beta"), "");

    assertEquals("acme", store.authenticate(management).orElseThrow().accountId());
    assertEquals(CredentialKind.INGEST, store.authenticate(ingest).orElseThrow().kind());
    assertTrue(store.authenticate(ingest).orElseThrow().mayIngestFor("beta"));
    assertFalse(store.authenticate(ingest).orElseThrow().mayIngestFor("gamma"));
    assertTrue(store.authenticate("th_mk_unknown").isEmpty());
    assertTrue(store.authenticate("").isEmpty());
    assertTrue(store.authenticate(null).isEmpty());
  }

  @Test
  void amongAThousandKeysEachSecretFindsItsOwnAccount() throws Exception {
    // Written as one file, as a deployment's key file would be; add() rewrites the file per key.
    StringBuilder file = new StringBuilder();
    List<String> secrets = new java.util.ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      String secret = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
      secrets.add(secret);
      file.append(
          String.format(
              "{\"hash\":\"%s\",\"kind\":\"management\",\"account_id\":\"acct-%d\","
                  + "\"accounts\":[],\"name\":\"\",\"created_at\":\"2026-11-23T00:00:00Z\"}%n",
              Secrets.sha256Hex(secret), i));
    }
    Files.writeString(dir.resolve("keys.jsonl"), file);
    CredentialStore store = new CredentialStore(dir.resolve("keys.jsonl"));
    assertEquals(1000, store.list().size(), "the hand-written lines are the store's format");
    for (int i = 0; i < 1000; i += 37) {
      assertEquals("acct-" + i, store.authenticate(secrets.get(i)).orElseThrow().accountId());
    }
    String stored = Secrets.sha256Hex(secrets.get(0));
    assertTrue(
        store.authenticate(stored).isEmpty(), "the hash itself is not a secret that authenticates");
  }

  @Test
  void revokedKeysNoLongerAuthenticateInAnotherReaderOfTheSameFile() throws Exception {
    Path file = dir.resolve("keys.jsonl");
    CredentialStore writer = new CredentialStore(file);
    CredentialStore reader = new CredentialStore(file);
    Credential created =
        writer.add("th_mk_secret", CredentialKind.MANAGEMENT, "acme", List.of(), "");
    assertTrue(reader.authenticate("th_mk_secret").isPresent());

    writer.revoke(created.hash().substring(0, 12));
    // The reader re-checks the file at most once a second.
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (reader.authenticate("th_mk_secret").isPresent() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertTrue(reader.authenticate("th_mk_secret").isEmpty());
    assertTrue(reader.list().get(0).revoked());
  }

  @Test
  void hashesEqualComparesWholeValues() {
    assertTrue(Secrets.hashesEqual(Secrets.sha256Hex("a"), Secrets.sha256Hex("a")));
    assertFalse(Secrets.hashesEqual(Secrets.sha256Hex("a"), Secrets.sha256Hex("b")));
  }
}
