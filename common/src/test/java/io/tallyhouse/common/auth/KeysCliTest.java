package io.tallyhouse.common.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key tool refuses what it does not understand, and never makes a broader key than asked for. */
class KeysCliTest {

  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    out.reset();
    err.reset();
    return KeysCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String file() {
    return dir.resolve("keys.jsonl").toString();
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void anIngestTokenWithoutAccountsNeedsAllAccountsSpelledOut() {
    assertEquals(2, run("create", "--file", file(), "--kind", "ingest", "--name", "gw"));
    assertTrue(err().contains("--all-accounts") && err().contains("--accounts"), err());
    assertFalse(Files.exists(Path.of(file())), "nothing is written on a usage error");

    assertEquals(0, run("create", "--file", file(), "--kind", "ingest", "--all-accounts"));
    Credential any = new CredentialStore(Path.of(file())).authenticate(out.toString(StandardCharsets.UTF_8).trim())
        .orElseThrow();
    assertTrue(any.mayIngestFor("whoever"));

    assertEquals(0, run("create", "--file", file(), "--kind", "ingest", "--accounts", "acme, beta"));
    Credential limited = new CredentialStore(Path.of(file()))
        .authenticate(out.toString(StandardCharsets.UTF_8).trim()).orElseThrow();
    assertTrue(limited.mayIngestFor("beta") && !limited.mayIngestFor("gamma"));

    assertEquals(2, run("create", "--file", file(), "--kind", "ingest", "--accounts", "acme", "--all-accounts"));
    assertEquals(2, run("create", "--file", file(), "--kind", "ingest", "--accounts", " , "));
    assertEquals(2, run("create", "--file", file(), "--kind", "management", "--account", "acme", "--all-accounts"));
    assertEquals(2, run("create", "--file", file(), "--kind", "ingest", "--account", "acme"));
    assertEquals(2, new CredentialStore(Path.of(file())).list().size());
  }

  @Test
  void unknownRepeatedOrValuelessOptionsAreErrorsNamingThem() {
    assertEquals(2, run("create", "--file", file(), "--kind", "management", "--acount", "acme"));
    assertTrue(err().contains("unknown option for create: --acount"), err());
    assertEquals(2, run("revoke", "--file", file(), "--hash", "3f9a1c2b", "--force", "yes"));
    assertTrue(err().contains("--force"), err());
    assertEquals(2, run("list", "--file", file(), "--kind", "ingest"));
    assertTrue(err().contains("--kind"), err());
    assertEquals(2, run("create", "--file", file(), "--kind", "management", "--account", "a", "--account", "b"));
    assertTrue(err().contains("--account is given twice"), err());
    assertEquals(2, run("create", "--file", file(), "--kind", "management", "--account"));
    assertTrue(err().contains("--account needs a value"), err());
    assertEquals(2, run("create", "--file", file(), "--kind", "management", "acme"));
    assertTrue(err().contains("unexpected argument: acme"), err());
    assertEquals(2, run("crate", "--file", file()));
    assertTrue(err().contains("unknown command: crate"), err());
    assertEquals(2, run("list"));
    assertTrue(err().contains("--file is required"), err());
    assertFalse(Files.exists(Path.of(file())), "nothing is written on a usage error");
  }
}
