package io.tallyhouse.common.auth;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Creates, lists and revokes management keys and ingest tokens in a key file.
 *
 * <pre>
 * keys create --file keys.jsonl --kind management --account demo [--name laptop]
 * keys create --file keys.jsonl --kind ingest [--accounts a,b] [--name gw-eu]
 * keys list   --file keys.jsonl
 * keys revoke --file keys.jsonl --hash PREFIX
 * </pre>
 * The secret is printed once on creation and never stored.
 */
public final class KeysCli {

  private KeysCli() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the process exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      err.println(usage());
      return 2;
    }
    Map<String, String> options = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        err.println("unexpected argument: " + args[i] + "\n" + usage());
        return 2;
      }
      options.put(args[i].substring(2), args[++i]);
    }
    String file = options.get("file");
    if (file == null) {
      err.println("--file is required\n" + usage());
      return 2;
    }
    CredentialStore store = new CredentialStore(Path.of(file));
    try {
      switch (args[0]) {
        case "create" -> {
          CredentialKind kind = CredentialKind.parse(options.getOrDefault("kind", ""));
          String account = options.get("account");
          List<String> accounts = options.containsKey("accounts")
              ? Arrays.stream(options.get("accounts").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()
              : new ArrayList<>();
          String secret = Secrets.generate(kind.secretPrefix());
          Credential c = store.add(secret, kind, kind == CredentialKind.MANAGEMENT ? account : null, accounts,
              options.getOrDefault("name", ""));
          out.println(secret);
          err.println("created " + kind.name().toLowerCase() + " key " + c.hash().substring(0, 12)
              + (c.accountId() != null ? " for account " + c.accountId() : "")
              + "; the secret above is shown only once");
          return 0;
        }
        case "list" -> {
          out.println("hash_prefix\tkind\taccount\tname\tcreated_at\trevoked_at");
          for (Credential c : store.list()) {
            String account = c.kind() == CredentialKind.MANAGEMENT ? c.accountId()
                : (c.accounts().isEmpty() ? "*" : String.join(",", c.accounts()));
            out.println(String.join("\t", c.hash().substring(0, 12), c.kind().name().toLowerCase(), account, c.name(),
                c.createdAt().toString(), c.revokedAt() == null ? "-" : c.revokedAt().toString()));
          }
          return 0;
        }
        case "revoke" -> {
          List<Credential> revoked = store.revoke(options.get("hash"));
          if (revoked.isEmpty()) {
            err.println("no live key has a hash starting with " + options.get("hash"));
            return 1;
          }
          revoked.forEach(c -> out.println("revoked " + c.hash().substring(0, 12)));
          return 0;
        }
        default -> {
          err.println("unknown command: " + args[0] + "\n" + usage());
          return 2;
        }
      }
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      return 2;
    }
  }

  private static String usage() {
    return "usage: keys create --file F --kind management --account ID [--name N]\n"
        + "       keys create --file F --kind ingest [--accounts A,B] [--name N]\n"
        + "       keys list --file F\n"
        + "       keys revoke --file F --hash PREFIX";
  }
}
