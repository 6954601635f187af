package io.tallyhouse.tools.keys;

import io.tallyhouse.common.auth.Credential;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.Unavailable;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code tallyhouse keys}: creates, lists and revokes management keys and ingest tokens in a key
 * file ({@link CredentialStore}). The secret is printed once on creation and never stored. Every
 * option is checked: an unknown, repeated or misplaced one is an error naming it, so a typo such as
 * {@code --acount} never creates a key broader than meant.
 */
@Command(
    name = "keys",
    header = "Creates, lists and revokes management keys and ingest tokens in a key file.",
    description =
        "The key file holds SHA-256 hashes only; gateway-ingest and activity-query read it (KEYS_FILE) and"
            + " pick up changes without a restart.",
    subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class},
    exitCodeList = {
      "0:done",
      "1:revoke found no live key with that hash prefix",
      "2:usage error (unknown, repeated or missing option, bad value); nothing was written",
      "3:the key file cannot be read or written"
    })
public final class KeysCommand implements Callable<Integer> {

  /**
   * Inherited, so it may stand before or after the subcommand ({@code make keys} appends it to
   * ARGS).
   */
  @Option(
      names = "--file",
      required = true,
      scope = ScopeType.INHERIT,
      paramLabel = "FILE",
      description =
          "the key file (JSON lines of key hashes; make keys passes KEYS_FILE, default .run/keys.jsonl)")
  Path file;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(
        spec.commandLine(), "no command given: use keys create, keys list or keys revoke");
  }

  /**
   * The store of {@code --file}; a path that exists but is no readable file is an error with exit
   * code 3.
   */
  CredentialStore store() {
    if (Files.exists(file) && (!Files.isRegularFile(file) || !Files.isReadable(file))) {
      throw new Unavailable(
          "--file " + file + " is not a readable file; give the path of the key file");
    }
    return new CredentialStore(file);
  }

  /**
   * What every subcommand of keys has: the key file of its parent, picocli's streams and usage
   * errors.
   */
  abstract static class KeysSubcommand implements Callable<Integer> {

    @ParentCommand KeysCommand keys;

    @Spec CommandSpec spec;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    PrintWriter err() {
      return spec.commandLine().getErr();
    }

    ParameterException usage(String message) {
      return new ParameterException(spec.commandLine(), message);
    }
  }

  @Command(
      name = "create",
      header = "Creates a key and prints its secret, once.",
      description = {
        "The secret goes to stdout, what was created to stderr; only the secret's hash is stored.",
        "A management key reads one account: --account ID. An ingest token posts for exactly the accounts of"
            + " --accounts A,B, or for any account with --all-accounts."
      },
      exitCodeList = {
        "0:created",
        "2:usage error; nothing was written",
        "3:the key file cannot be written"
      })
  static final class Create extends KeysSubcommand {

    @Option(
        names = "--kind",
        required = true,
        paramLabel = "management|ingest",
        converter = KindConverter.class,
        description =
            "what the key is for: management (reads one account's activity) or ingest (posts events)")
    CredentialKind kind;

    @Option(
        names = "--account",
        paramLabel = "ID",
        description = "the account a management key reads")
    String account;

    @Option(
        names = "--accounts",
        paramLabel = "A,B",
        description = "the accounts an ingest token may post for")
    String accounts;

    @Option(names = "--all-accounts", description = "an ingest token that may post for any account")
    boolean allAccounts;

    @Option(
        names = "--name",
        paramLabel = "N",
        defaultValue = "",
        description = "a name to recognise the key by")
    String name;

    @Override
    public Integer call() {
      String accountId = null;
      List<String> ingestAccounts = List.of();
      if (kind == CredentialKind.MANAGEMENT) {
        refuse(accounts != null, "--accounts", "a management key reads one account: use --account");
        refuse(allAccounts, "--all-accounts", "a management key reads one account: use --account");
        if (account == null || account.isBlank()) {
          throw usage("--account is required for a management key: --account ID");
        }
        accountId = account;
      } else {
        refuse(
            account != null, "--account", "an ingest token takes --accounts A,B or --all-accounts");
        if ((accounts != null) == allAccounts) {
          throw usage(
              "an ingest token needs exactly one of --accounts A,B (the accounts it may post for)"
                  + " or --all-accounts (any account)");
        }
        if (accounts != null) {
          ingestAccounts =
              Arrays.stream(accounts.split(","))
                  .map(String::trim)
                  .filter(s -> !s.isEmpty())
                  .toList();
          if (ingestAccounts.isEmpty()) {
            throw usage("--accounts names no account; use --all-accounts for any account");
          }
        }
      }
      CredentialStore store = keys.store();
      String secret = Secrets.generate(kind.secretPrefix());
      Credential c = store.add(secret, kind, accountId, ingestAccounts, name);
      out().println(secret);
      err()
          .println(
              "created "
                  + kind.name().toLowerCase()
                  + " key "
                  + c.hash().substring(0, 12)
                  + (c.accountId() != null
                      ? " for account " + c.accountId()
                      : c.accounts().isEmpty()
                          ? " for any account"
                          : " for account(s) " + String.join(",", c.accounts()))
                  + "; the secret above is shown only once");
      return ExitCodes.OK;
    }

    private void refuse(boolean given, String option, String why) {
      if (given) {
        throw usage(option + " does not apply: " + why);
      }
    }
  }

  @Command(
      name = "list",
      header = "Lists every key of the file, revoked ones included.",
      description =
          "One key a line, tab-separated: hash prefix, kind, account(s) (* for any), name, created_at,"
              + " revoked_at (- while live). Secrets are never listed: the file has none.",
      exitCodeList = {
        "0:listed (a missing file lists no key)",
        "2:usage error",
        "3:the key file cannot be read"
      })
  static final class ListKeys extends KeysSubcommand {

    @Override
    public Integer call() {
      CredentialStore store = keys.store();
      PrintWriter out = out();
      out.println("hash_prefix\tkind\taccount\tname\tcreated_at\trevoked_at");
      for (Credential c : store.list()) {
        String account =
            c.kind() == CredentialKind.MANAGEMENT
                ? c.accountId()
                : (c.accounts().isEmpty() ? "*" : String.join(",", c.accounts()));
        out.println(
            String.join(
                "\t",
                c.hash().substring(0, 12),
                c.kind().name().toLowerCase(),
                account,
                c.name(),
                c.createdAt().toString(),
                c.revokedAt() == null ? "-" : c.revokedAt().toString()));
      }
      if (store.malformedLines() > 0) {
        err()
            .println(
                store.malformedLines()
                    + " line(s) of "
                    + store.file()
                    + " are not valid keys and are ignored");
      }
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "revoke",
      header = "Revokes every live key whose hash starts with PREFIX.",
      description =
          "The services refuse a revoked key within a second; its line stays in the file, with revoked_at.",
      exitCodeList = {
        "0:revoked",
        "1:no live key has a hash starting with PREFIX",
        "2:usage error (PREFIX shorter than 8 hex chars, ...); nothing was written",
        "3:the key file cannot be written"
      })
  static final class Revoke extends KeysSubcommand {

    @Option(
        names = "--hash",
        required = true,
        paramLabel = "PREFIX",
        description = "at least 8 hex chars of the key's hash, as keys list shows it")
    String hash;

    @Override
    public Integer call() {
      List<Credential> revoked;
      try {
        revoked = keys.store().revoke(hash);
      } catch (IllegalArgumentException e) {
        throw usage("--hash " + hash + ": " + e.getMessage());
      }
      if (revoked.isEmpty()) {
        err()
            .println(
                "no live key has a hash starting with "
                    + hash
                    + "; keys list shows the hash prefixes");
        return ExitCodes.FINDING;
      }
      revoked.forEach(c -> out().println("revoked " + c.hash().substring(0, 12)));
      return ExitCodes.OK;
    }
  }

  /** {@code management} or {@code ingest}, in any case. */
  static final class KindConverter implements ITypeConverter<CredentialKind> {
    @Override
    public CredentialKind convert(String value) {
      try {
        return CredentialKind.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException("give management or ingest, not " + value);
      }
    }
  }
}
