package io.tallyhouse.common.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keys kept in a file of JSON lines, one {@link Credential} a line, holding hashes only. Both services
 * read the same file (for example a mounted secret) and see changes without a restart: the file is
 * re-read when its modification time or size changes, checked at most once per second.
 */
public final class CredentialStore {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long RECHECK_NANOS = 1_000_000_000L;

  private final Path file;
  private volatile Snapshot snapshot = new Snapshot(null, -1, List.of(), 0);

  private record Snapshot(FileTime modified, long size, List<Credential> credentials, Map<String, Credential> byHash,
      long checkedAtNanos) {

    Snapshot(FileTime modified, long size, List<Credential> credentials, long checkedAtNanos) {
      this(modified, size, credentials, index(credentials), checkedAtNanos);
    }

    /** By hash; the first of equal hashes wins, as in the file's order. */
    private static Map<String, Credential> index(List<Credential> credentials) {
      Map<String, Credential> byHash = new HashMap<>();
      credentials.forEach(c -> byHash.putIfAbsent(c.hash(), c));
      return Map.copyOf(byHash);
    }
  }

  public CredentialStore(Path file) {
    this.file = file;
  }

  public Path file() {
    return file;
  }

  /**
   * The live credential whose hash equals the secret's SHA-256. The credential is looked up by that hash and the
   * hashes are then compared in constant time. The lookup's time depends only on the SHA-256 of what was presented,
   * which tells nothing about any stored key's secret (finding a secret from its hash is what SHA-256 prevents),
   * and it stays the same however many keys there are: comparing against every key in turn took 40 % of
   * activity-query's CPU with 1 000 keys.
   */
  public Optional<Credential> authenticate(String secret) {
    if (secret == null || secret.isEmpty()) {
      return Optional.empty();
    }
    String presented = Secrets.sha256Hex(secret);
    Credential match = find(presented, current(false));
    if (match == null) {
      // A key created a moment ago works at once: an unknown secret always looks at the file again.
      match = find(presented, current(true));
    }
    return match == null || match.revoked() ? Optional.empty() : Optional.of(match);
  }

  private static Credential find(String presentedHash, Snapshot known) {
    Credential candidate = known.byHash().get(presentedHash);
    return candidate != null && Secrets.hashesEqual(candidate.hash(), presentedHash) ? candidate : null;
  }

  /** Every stored credential, revoked ones included. */
  public List<Credential> list() {
    return current(true).credentials();
  }

  /** Creates a credential for {@code secret} and stores its hash; the secret itself is not kept. */
  public synchronized Credential add(String secret, CredentialKind kind, String accountId, List<String> accounts,
      String name) {
    String hash = Secrets.sha256Hex(secret);
    List<Credential> all = new ArrayList<>(read());
    if (all.stream().anyMatch(c -> c.hash().equals(hash))) {
      return all.stream().filter(c -> c.hash().equals(hash)).findFirst().orElseThrow();
    }
    Credential created = new Credential(hash, kind, accountId, accounts, name, Instant.now(), null);
    all.add(created);
    write(all);
    return created;
  }

  /** Revokes every live credential whose hash starts with {@code hashPrefix}; returns them. */
  public synchronized List<Credential> revoke(String hashPrefix) {
    if (hashPrefix == null || hashPrefix.length() < 8) {
      throw new IllegalArgumentException("give at least 8 hex chars of the hash to revoke");
    }
    String prefix = hashPrefix.toLowerCase();
    List<Credential> all = new ArrayList<>(read());
    List<Credential> revoked = new ArrayList<>();
    Instant now = Instant.now();
    for (int i = 0; i < all.size(); i++) {
      Credential c = all.get(i);
      if (!c.revoked() && c.hash().startsWith(prefix)) {
        Credential r = c.revoke(now);
        all.set(i, r);
        revoked.add(r);
      }
    }
    if (!revoked.isEmpty()) {
      write(all);
    }
    return revoked;
  }

  /** The known credentials; the file is looked at again when {@code force} or after {@link #RECHECK_NANOS}. */
  private Snapshot current(boolean force) {
    Snapshot s = snapshot;
    long now = System.nanoTime();
    if (!force && s.modified() != null && now - s.checkedAtNanos() < RECHECK_NANOS) {
      return s;
    }
    try {
      FileTime modified = Files.getLastModifiedTime(file);
      long size = Files.size(file);
      if (modified.equals(s.modified()) && size == s.size()) {
        snapshot = new Snapshot(modified, size, s.credentials(), s.byHash(), now);
        return snapshot;
      }
      snapshot = new Snapshot(modified, size, read(), now);
      return snapshot;
    } catch (NoSuchFileException e) {
      snapshot = new Snapshot(FileTime.fromMillis(0), -1, List.of(), now);
      return snapshot;
    } catch (IOException e) {
      // Keep serving the keys we know rather than locking everybody out on a transient read error.
      return s;
    }
  }

  private List<Credential> read() {
    try {
      if (!Files.exists(file)) {
        return List.of();
      }
      List<Credential> result = new ArrayList<>();
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          result.add(fromJson(JSON.readTree(line)));
        }
      }
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read key file " + file, e);
    }
  }

  private void write(List<Credential> all) {
    StringBuilder out = new StringBuilder();
    for (Credential c : all) {
      out.append(toJson(c)).append('\n');
    }
    try {
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path tmp = Files.createTempFile(parent, ".keys", ".tmp");
      Files.writeString(tmp, out, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      snapshot = new Snapshot(null, -1, List.of(), 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write key file " + file, e);
    }
  }

  private static String toJson(Credential c) {
    ObjectNode node = JSON.createObjectNode();
    node.put("hash", c.hash());
    node.put("kind", c.kind().name().toLowerCase());
    if (c.accountId() != null) {
      node.put("account_id", c.accountId());
    }
    ArrayNode accounts = node.putArray("accounts");
    c.accounts().forEach(accounts::add);
    node.put("name", c.name());
    node.put("created_at", c.createdAt().toString());
    if (c.revokedAt() != null) {
      node.put("revoked_at", c.revokedAt().toString());
    }
    return node.toString();
  }

  private static Credential fromJson(JsonNode node) {
    List<String> accounts = new ArrayList<>();
    node.path("accounts").forEach(a -> accounts.add(a.asText()));
    return new Credential(
        node.path("hash").asText(),
        CredentialKind.parse(node.path("kind").asText()),
        node.hasNonNull("account_id") ? node.get("account_id").asText() : null,
        accounts,
        node.path("name").asText(""),
        Instant.parse(node.path("created_at").asText()),
        node.hasNonNull("revoked_at") ? Instant.parse(node.get("revoked_at").asText()) : null);
  }
}
