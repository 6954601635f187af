package io.tallyhouse.common.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keys_file_readable} is 0 while the key file cannot be read (missing, or an I/O error: here
 * a directory where the file should be) and 1 again once it can; every failed attempt counts in
 * {@code keys_file_reload_failures_total}, and the keys last read keep working meanwhile.
 */
class KeyFileReadableTest {

  @TempDir Path dir;

  private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

  private double readableGauge() {
    return metrics.get("keys_file_readable").gauge().value();
  }

  private double failures() {
    return metrics.get("keys_file_reload_failures").functionCounter().count();
  }

  @Test
  void aMissingFileIsUnreadableAndCounted() {
    CredentialStore store = new CredentialStore(dir.resolve("absent.jsonl"), metrics);

    assertEquals(0.0, readableGauge());
    assertTrue(failures() >= 1, "the failed read is counted: " + failures());
    assertTrue(store.list().isEmpty());
  }

  @Test
  void anUnreadableFileKeepsTheKnownKeysAndRecoversWhenReadableAgain() throws Exception {
    Path file = dir.resolve("keys.jsonl");
    CredentialStore store = new CredentialStore(file, metrics);
    store.add("th_mk_known", CredentialKind.MANAGEMENT, "acme", List.of(), "");
    assertEquals("acme", store.authenticate("th_mk_known").orElseThrow().accountId());
    assertEquals(1.0, readableGauge());
    double failuresWhileReadable = failures();

    Path saved = dir.resolve("keys.saved");
    Files.move(file, saved);
    Files.createDirectory(file);
    assertEquals(1, store.list().size(), "the keys last read are still listed");
    assertEquals(0.0, readableGauge(), "a directory cannot be read as the key file");
    assertTrue(failures() > failuresWhileReadable, "the failed read is counted");
    assertEquals(
        "acme",
        store.authenticate("th_mk_known").orElseThrow().accountId(),
        "the known key keeps working while the file cannot be read");

    Files.delete(file);
    Files.move(saved, file);
    double failuresBeforeRecovery = failures();
    assertEquals(1, store.list().size());
    assertEquals(1.0, readableGauge());
    assertEquals(failuresBeforeRecovery, failures(), "a good read is no failure");
  }
}
