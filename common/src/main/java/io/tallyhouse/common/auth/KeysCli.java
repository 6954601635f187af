package io.tallyhouse.common.auth;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Creates, lists and revokes management keys and ingest tokens in a key file.
 *
 * <pre>
 * keys create --file keys.jsonl --kind management --account demo [--name laptop]
 * keys create --file keys.jsonl --kind ingest (--accounts a,b | --all-accounts) [--name gw-eu]
 * keys list   --file keys.jsonl
 * keys revoke --file keys.jsonl --hash PREFIX
 * </pre>
 * The secret is printed once on creation and never stored. Every option is checked: an unknown, repeated or
 * misplaced one is an error naming it, so a typo such as {@code --acount} never creates a key broader than meant.
 */
public final class KeysCli {

  /** Options that stand alone; every other option takes a value. */
  private static final Set<String> SWITCHES = Set.of("all-accounts");
  private static final Map<String, Set<String>> OPTIONS = Map.of(
      "create", Set.of("file", "kind", "account", "accounts", "all-accounts", "name"),
      "list", Set.of("file"),
      "revoke", Set.of("file", "hash"));

  private KeysCli() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the process exit code (2: a usage error, nothing changed). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Map<String, String> options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage() + "\n" + usage());
      return 2;
    }
    CredentialStore store = new CredentialStore(Path.of(options.get("file")));
    try {
      return switch (args[0]) {
        case "create" -> create(store, options, out, err);
        case "list" -> list(store, out, err);
        default -> revoke(store, options, out, err);
      };
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      return 2;
    }
  }

  /** The command's options by name (a switch maps to ""), or an error naming what is wrong. */
  static Map<String, String> parse(String[] args) {
    if (args.length == 0) {
      throw new IllegalArgumentException("no command given");
    }
    Set<String> allowed = OPTIONS.get(args[0]);
    if (allowed == null) {
      throw new IllegalArgumentException("unknown command: " + args[0]);
    }
    Map<String, String> options = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument: " + args[i]);
      }
      String name = args[i].substring(2);
      if (!allowed.contains(name)) {
        throw new IllegalArgumentException("unknown option for " + args[0] + ": --" + name);
      }
      if (options.containsKey(name)) {
        throw new IllegalArgumentException("--" + name + " is given twice");
      }
      if (SWITCHES.contains(name)) {
        options.put(name, "");
      } else if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
        throw new IllegalArgumentException("--" + name + " needs a value");
      } else {
        options.put(name, args[++i]);
      }
    }
    if (!options.containsKey("file")) {
      throw new IllegalArgumentException("--file is required");
    }
    return options;
  }

  private static int create(CredentialStore store, Map<String, String> options, PrintStream out, PrintStream err) {
    CredentialKind kind = CredentialKind.parse(require(options, "kind"));
    String account = null;
    List<String> accounts = List.of();
    if (kind == CredentialKind.MANAGEMENT) {
      refuse(options, "accounts", "a management key reads one account: use --account");
      refuse(options, "all-accounts", "a management key reads one account: use --account");
      account = require(options, "account");
    } else {
      refuse(options, "account", "an ingest token takes --accounts A,B or --all-accounts");
      if (options.containsKey("accounts") == options.containsKey("all-accounts")) {
        throw new IllegalArgumentException("an ingest token needs exactly one of --accounts A,B (the accounts it may"
            + " post for) or --all-accounts (any account)");
      }
      if (options.containsKey("accounts")) {
        accounts = Arrays.stream(options.get("accounts").split(",")).map(String::trim).filter(s -> !s.isEmpty())
            .toList();
        if (accounts.isEmpty()) {
          throw new IllegalArgumentException("--accounts names no account; use --all-accounts for any account");
        }
      }
    }
    String secret = Secrets.generate(kind.secretPrefix());
    Credential c = store.add(secret, kind, account, accounts, options.getOrDefault("name", ""));
    out.println(secret);
    err.println("created " + kind.name().toLowerCase() + " key " + c.hash().substring(0, 12)
        + (c.accountId() != null ? " for account " + c.accountId()
            : c.accounts().isEmpty() ? " for any account" : " for account(s) " + String.join(",", c.accounts()))
        + "; the secret above is shown only once");
    return 0;
  }

  private static int list(CredentialStore store, PrintStream out, PrintStream err) {
    out.println("hash_prefix\tkind\taccount\tname\tcreated_at\trevoked_at");
    for (Credential c : store.list()) {
      String account = c.kind() == CredentialKind.MANAGEMENT ? c.accountId()
          : (c.accounts().isEmpty() ? "*" : String.join(",", c.accounts()));
      out.println(String.join("\t", c.hash().substring(0, 12), c.kind().name().toLowerCase(), account, c.name(),
          c.createdAt().toString(), c.revokedAt() == null ? "-" : c.revokedAt().toString()));
    }
    if (store.malformedLines() > 0) {
      err.println(store.malformedLines() + " line(s) of " + store.file() + " are not valid keys and are ignored");
    }
    return 0;
  }

  private static int revoke(CredentialStore store, Map<String, String> options, PrintStream out, PrintStream err) {
    String hash = require(options, "hash");
    List<Credential> revoked = store.revoke(hash);
    if (revoked.isEmpty()) {
      err.println("no live key has a hash starting with " + hash);
      return 1;
    }
    revoked.forEach(c -> out.println("revoked " + c.hash().substring(0, 12)));
    return 0;
  }

  private static String require(Map<String, String> options, String name) {
    String value = options.get(name);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }

  private static void refuse(Map<String, String> options, String name, String why) {
    if (options.containsKey(name)) {
      throw new IllegalArgumentException("--" + name + " does not apply: " + why);
    }
  }

  private static String usage() {
    return "usage: keys create --file F --kind management --account ID [--name N]\n"
        + "       keys create --file F --kind ingest (--accounts A,B | --all-accounts) [--name N]\n"
        + "       keys list --file F\n"
        + "       keys revoke --file F --hash PREFIX";
  }
}
