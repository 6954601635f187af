package io.tallyhouse.tools.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.tools.TallyhouseCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrent runs of the key tool, each its own process as {@code make keys} starts it, lose
 * nothing.
 */
class KeyToolProcessesTest {

  @TempDir Path dir;

  @Test
  void concurrentKeyToolProcessesLoseNothingAndKeepARevocation() throws Exception {
    Path file = dir.resolve("keys.jsonl");
    String victim = "th_mk_victim";
    String prefix =
        new CredentialStore(file)
            .add(victim, CredentialKind.MANAGEMENT, "acme", List.of(), "")
            .hash()
            .substring(0, 12);
    List<Process> processes = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      processes.add(
          keyTool(
              dir.resolve("out-" + i),
              "create",
              "--kind",
              "ingest",
              "--all-accounts",
              "--name",
              "p" + i,
              "--file",
              file.toString()));
    }
    processes.add(
        keyTool(dir.resolve("out-revoke"), "revoke", "--hash", prefix, "--file", file.toString()));
    for (Process p : processes) {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the key tool did not finish");
      assertEquals(0, p.exitValue());
    }
    CredentialStore reader = new CredentialStore(file);
    assertTrue(reader.authenticate(victim).isEmpty(), "the revocation was undone");
    for (int i = 0; i < 5; i++) {
      String secret = Files.readString(dir.resolve("out-" + i)).trim();
      assertEquals("p" + i, reader.authenticate(secret).orElseThrow().name());
    }
    assertEquals(6, reader.list().size());
  }

  private static Process keyTool(Path stdout, String... args) throws Exception {
    // A short-lived process: the JIT's top tier would only cost start-up time.
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                TallyhouseCli.class.getName(),
                "keys"));
    command.addAll(List.of(args));
    return new ProcessBuilder(command)
        .redirectOutput(stdout.toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
  }
}
