package io.tallyhouse.common.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A damaged key file never locks out the valid keys, and concurrent writers lose nothing (threads
 * here; the key tool's processes in tools' KeyToolProcessesTest).
 */
class KeyFileConcurrencyTest {

  @TempDir Path dir;

  private static String line(String secret, String account) {
    return "{\"hash\":\""
        + Secrets.sha256Hex(secret)
        + "\",\"kind\":\"management\",\"account_id\":\""
        + account
        + "\",\"accounts\":[],\"name\":\"\",\"created_at\":\"2026-11-23T00:00:00Z\"}";
  }

  @Test
  void malformedAndHalfWrittenLinesAreSkippedLoggedAndCountedWhileValidKeysAuthenticate()
      throws Exception {
    Path file = dir.resolve("keys.jsonl");
    String full = line("th_mk_last", "gamma");
    Files.writeString(
        file,
        String.join(
            "\n",
            line("th_mk_first", "acme"),
            "{not json at all",
            "{\"hash\":\"xyz\",\"kind\":\"management\",\"account_id\":\"x\",\"created_at\":\"2026-11-23T00:00:00Z\"}",
            line("th_mk_second", "beta"),
            full.substring(0, full.length() / 2)),
        StandardCharsets.UTF_8);
    Logger log = (Logger) LoggerFactory.getLogger(CredentialStore.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    log.addAppender(logged);
    try {
      SimpleMeterRegistry metrics = new SimpleMeterRegistry();
      CredentialStore store = new CredentialStore(file, metrics);

      assertEquals("acme", store.authenticate("th_mk_first").orElseThrow().accountId());
      assertEquals("beta", store.authenticate("th_mk_second").orElseThrow().accountId());
      assertTrue(store.authenticate("th_mk_last").isEmpty(), "half a line is no key");
      assertEquals(3, store.malformedLines());
      assertEquals(3.0, metrics.get("keys_file_malformed_lines").gauge().value());
      List<String> errors =
          logged.list.stream()
              .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.ERROR)
              .map(ILoggingEvent::getFormattedMessage)
              .toList();
      assertEquals(3, errors.size(), errors.toString());
      assertTrue(
          errors.get(0).contains("line 2")
              && errors.get(1).contains("line 3")
              && errors.get(2).contains("line 5"),
          errors.toString());

      // The key tool still works on the damaged file and carries the damaged lines over unchanged.
      Credential added = store.add("th_mk_new", CredentialKind.MANAGEMENT, "delta", List.of(), "");
      assertEquals("delta", store.authenticate("th_mk_new").orElseThrow().accountId());
      assertEquals(added.hash(), store.revoke(added.hash().substring(0, 12)).get(0).hash());
      String rewritten = Files.readString(file);
      assertTrue(
          rewritten.contains("{not json at all\n")
              && rewritten.contains(full.substring(0, full.length() / 2)),
          rewritten);
      assertEquals("acme", store.authenticate("th_mk_first").orElseThrow().accountId());
    } finally {
      log.detachAppender(logged);
    }
  }

  @Test
  void concurrentWritersInOneProcessLoseNothing() throws Exception {
    Path file = dir.resolve("keys.jsonl");
    int threads = 8;
    int each = 10;
    List<String> secrets = new CopyOnWriteArrayList<>();
    runTogether(
        threads,
        t -> {
          CredentialStore store = new CredentialStore(file);
          for (int i = 0; i < each; i++) {
            String secret = Secrets.generate(CredentialKind.INGEST.secretPrefix());
            store.add(secret, CredentialKind.INGEST, null, List.of(), "t" + t);
            secrets.add(secret);
          }
        });
    CredentialStore reader = new CredentialStore(file);
    assertEquals(threads * each, reader.list().size());
    for (String secret : secrets) {
      assertTrue(reader.authenticate(secret).isPresent());
    }
  }

  @Test
  void aRevocationRacingCreatesIsNeverUndone() throws Exception {
    Path file = dir.resolve("keys.jsonl");
    for (int round = 0; round < 20; round++) {
      String victim = "th_mk_victim-" + round;
      String prefix =
          new CredentialStore(file)
              .add(victim, CredentialKind.MANAGEMENT, "acme", List.of(), "")
              .hash()
              .substring(0, 12);
      List<String> created = new CopyOnWriteArrayList<>();
      int r = round;
      runTogether(
          5,
          t -> {
            CredentialStore store = new CredentialStore(file);
            if (t == 0) {
              assertEquals(1, store.revoke(prefix).size());
            } else {
              String secret = "th_mk_new-" + r + "-" + t;
              store.add(secret, CredentialKind.MANAGEMENT, "acme", List.of(), "");
              created.add(secret);
            }
          });
      CredentialStore reader = new CredentialStore(file);
      assertTrue(
          reader.authenticate(victim).isEmpty(), "round " + round + ": the revocation was undone");
      for (String secret : created) {
        assertTrue(reader.authenticate(secret).isPresent(), "round " + round + ": lost " + secret);
      }
    }
  }

  private interface Task {
    void run(int index) throws Exception;
  }

  /** Starts every task at the same moment and waits for all; any failure fails the test. */
  private static void runTogether(int count, Task task) throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < count; t++) {
      int index = t;
      Thread thread =
          new Thread(
              () -> {
                try {
                  start.await();
                  task.run(index);
                } catch (Throwable e) {
                  failures.add(e);
                }
              });
      thread.start();
      threads.add(thread);
    }
    start.countDown();
    for (Thread thread : threads) {
      thread.join(TimeUnit.MINUTES.toMillis(2));
    }
    assertEquals(List.of(), failures);
  }
}
