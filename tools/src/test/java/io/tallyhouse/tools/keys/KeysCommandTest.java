package io.tallyhouse.tools.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.auth.Credential;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.tools.Cli;
import io.tallyhouse.tools.Cli.Run;
import io.tallyhouse.tools.ExitCodes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key tool refuses what it does not understand, and never makes a broader key than asked for.
 */
class KeysCommandTest {

  @TempDir Path dir;

  private Run keys(String... args) {
    List<String> all = new ArrayList<>(List.of("keys"));
    all.addAll(List.of(args));
    return Cli.run(all.toArray(String[]::new));
  }

  private String file() {
    return dir.resolve("keys.jsonl").toString();
  }

  @Test
  void createPrintsTheSecretOnceListsAndRevokes() {
    Run created =
        keys(
            "create",
            "--file",
            file(),
            "--kind",
            "management",
            "--account",
            "acme",
            "--name",
            "ci");
    assertEquals(ExitCodes.OK, created.code(), created.toString());
    String secret = created.out().trim();
    assertTrue(secret.startsWith("th_mk_"), created.toString());
    assertTrue(
        created.err().contains("created management key")
            && created.err().contains("for account acme")
            && created.err().contains("shown only once"),
        created.toString());
    CredentialStore store = new CredentialStore(Path.of(file()));
    assertEquals("acme", store.authenticate(secret).orElseThrow().accountId());

    Run listing = keys("list", "--file", file());
    assertEquals(ExitCodes.OK, listing.code(), listing.toString());
    assertTrue(
        listing.out().startsWith("hash_prefix\tkind\taccount\tname\tcreated_at\trevoked_at\n"),
        listing.toString());
    assertTrue(
        listing.out().contains("acme")
            && listing.out().contains("management")
            && !listing.out().contains(secret),
        listing.toString());

    String prefix = Secrets.sha256Hex(secret).substring(0, 12);
    Run revoked = keys("revoke", "--file", file(), "--hash", prefix);
    assertEquals(ExitCodes.OK, revoked.code(), revoked.toString());
    assertEquals("revoked " + prefix, revoked.out().trim());
    assertTrue(new CredentialStore(Path.of(file())).authenticate(secret).isEmpty());

    Run again = keys("revoke", "--file", file(), "--hash", prefix);
    assertEquals(ExitCodes.FINDING, again.code(), again.toString());
    assertTrue(
        again.err().contains("no live key has a hash starting with " + prefix), again.toString());

    Run bogus = keys("create", "--file", file(), "--kind", "bogus");
    assertEquals(ExitCodes.USAGE, bogus.code(), bogus.toString());
    assertTrue(
        bogus.err().contains("--kind") && bogus.err().contains("management or ingest, not bogus"),
        bogus.toString());
  }

  @Test
  void theFileMayStandBeforeOrAfterTheCommandAsMakeKeysAppendsIt() {
    assertEquals(
        ExitCodes.OK,
        keys("--file", file(), "create", "--kind", "ingest", "--all-accounts").code());
    assertEquals(
        ExitCodes.OK,
        keys("create", "--kind", "ingest", "--all-accounts", "--file", file()).code());
    assertEquals(2, new CredentialStore(Path.of(file())).list().size());
  }

  @Test
  void anIngestTokenWithoutAccountsNeedsAllAccountsSpelledOut() {
    Run none = keys("create", "--file", file(), "--kind", "ingest", "--name", "gw");
    assertEquals(ExitCodes.USAGE, none.code(), none.toString());
    assertTrue(
        none.err().contains("--all-accounts") && none.err().contains("--accounts"),
        none.toString());
    assertFalse(Files.exists(Path.of(file())), "nothing is written on a usage error");

    Run any = keys("create", "--file", file(), "--kind", "ingest", "--all-accounts");
    assertEquals(ExitCodes.OK, any.code(), any.toString());
    Credential anyAccount =
        new CredentialStore(Path.of(file())).authenticate(any.out().trim()).orElseThrow();
    assertTrue(anyAccount.mayIngestFor("whoever"));

    Run some = keys("create", "--file", file(), "--kind", "ingest", "--accounts", "acme, beta");
    assertEquals(ExitCodes.OK, some.code(), some.toString());
    Credential limited =
        new CredentialStore(Path.of(file())).authenticate(some.out().trim()).orElseThrow();
    assertTrue(limited.mayIngestFor("beta") && !limited.mayIngestFor("gamma"));

    assertEquals(
        ExitCodes.USAGE,
        keys("create", "--file", file(), "--kind", "ingest", "--accounts", "acme", "--all-accounts")
            .code());
    assertEquals(
        ExitCodes.USAGE,
        keys("create", "--file", file(), "--kind", "ingest", "--accounts", " , ").code());
    assertEquals(
        ExitCodes.USAGE,
        keys(
                "create",
                "--file",
                file(),
                "--kind",
                "management",
                "--account",
                "acme",
                "--all-accounts")
            .code());
    assertEquals(
        ExitCodes.USAGE,
        keys("create", "--file", file(), "--kind", "ingest", "--account", "acme").code());
    assertEquals(2, new CredentialStore(Path.of(file())).list().size());
  }

  @Test
  void unknownRepeatedOrValuelessOptionsAreErrorsNamingThem() {
    assertUsageError(
        keys("create", "--file", file(), "--kind", "management", "--acount", "acme"),
        "Unknown options: '--acount'",
        "Possible solutions: --account");
    assertUsageError(
        keys("revoke", "--file", file(), "--hash", "3f9a1c2b", "--force", "yes"), "'--force'");
    assertUsageError(keys("list", "--file", file(), "--kind", "ingest"), "'--kind'");
    assertUsageError(
        keys(
            "create", "--file", file(), "--kind", "management", "--account", "a", "--account", "b"),
        "option '--account' (ID) should be specified only once");
    assertUsageError(
        keys("create", "--file", file(), "--kind", "management", "--account"),
        "Missing required parameter for option '--account' (ID)");
    assertUsageError(
        keys("create", "--file", file(), "--kind", "management", "--account", "--all-accounts"),
        "Expected parameter for option '--account' but found '--all-accounts'");
    assertUsageError(keys("create", "--file", file(), "--kind", "management", "acme"), "'acme'");
    assertUsageError(keys("crate", "--file", file()), "'crate'", "Did you mean: keys create?");
    assertUsageError(keys("list"), "Missing required option: '--file=FILE'");
    assertUsageError(
        keys("--file", file()), "no command given: use keys create, keys list or keys revoke");
    assertUsageError(
        keys("revoke", "--file", file(), "--hash", "3f9"), "--hash 3f9: give at least 8 hex chars");
    assertFalse(Files.exists(Path.of(file())), "nothing is written on a usage error");
  }

  @Test
  void aUsageErrorSaysWhichHelpToRead() {
    Run typo = keys("create", "--file", file(), "--kind", "management", "--acount", "acme");
    assertTrue(typo.err().startsWith("tallyhouse keys create: "), typo.toString());
    assertTrue(
        typo.err().contains("Run 'tallyhouse keys create --help' for its options."),
        typo.toString());
    assertEquals("", typo.out());
  }

  @Test
  void everyCommandHasHelpWithItsOptionsAndExitCodes() {
    Run keys = keys("--help", "--file", file());
    assertEquals(ExitCodes.OK, keys.code(), keys.toString());
    assertTrue(
        keys.out().contains("Usage: tallyhouse keys [-hV] --file=FILE [COMMAND]"), keys.toString());
    assertTrue(
        keys.out().contains("create")
            && keys.out().contains("list")
            && keys.out().contains("revoke")
            && keys.out().contains("--file=FILE"),
        keys.toString());

    Run create = keys("create", "--help");
    assertEquals(ExitCodes.OK, create.code(), create.toString());
    for (String option :
        List.of(
            "--kind",
            "--account=ID",
            "--accounts=A,B",
            "--all-accounts",
            "--name=N",
            "--file",
            "Exit codes",
            "nothing was written",
            "cannot be written")) {
      assertTrue(create.out().contains(option), option + " in\n" + create);
    }
    Run revoke = keys("revoke", "--help");
    assertTrue(
        revoke.out().contains("--hash=PREFIX") && revoke.out().contains("no live key"),
        revoke.toString());
    assertTrue(
        keys("list", "--help")
            .out()
            .contains("Lists every key of the file, revoked ones included."));
  }

  @Test
  void aKeyFileThatCannotBeReadOrWrittenIsExitCodeThree() throws Exception {
    Path directory = Files.createDirectories(dir.resolve("not-a-file"));
    Run list = keys("list", "--file", directory.toString());
    assertEquals(ExitCodes.UNAVAILABLE, list.code(), list.toString());
    assertTrue(list.err().contains("is not a readable file"), list.toString());

    Path underAFile = Files.writeString(dir.resolve("a-file"), "").resolve("keys.jsonl");
    Run create =
        keys("create", "--file", underAFile.toString(), "--kind", "ingest", "--all-accounts");
    assertEquals(ExitCodes.UNAVAILABLE, create.code(), create.toString());
    assertTrue(create.err().contains("cannot update key file " + underAFile), create.toString());
    assertEquals("", create.out(), "no secret is shown for a key that was not stored");
  }

  private static void assertUsageError(Run run, String... expected) {
    assertEquals(ExitCodes.USAGE, run.code(), run.toString());
    for (String text : expected) {
      assertTrue(run.err().contains(text), text + " in\n" + run);
    }
  }
}
