package io.tallyhouse.common.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keys kept in a file of JSON lines, one {@link Credential} a line, holding hashes only. Both
 * services read the same file (for example a mounted secret) and see changes without a restart: the
 * file is re-read when its modification time or size changes, checked at most once per second.
 *
 * <p>A line that cannot be read (hand-edited, half-written) is skipped with an error log and
 * counted in the {@code keys_file_malformed_lines} gauge: it never locks out the valid keys around
 * it. A file that cannot be read (missing, unreadable, an I/O error) sets {@code
 * keys_file_readable} to 0 and counts in {@code keys_file_reload_failures_total}; the keys last
 * read keep working. Changes are made under an exclusive lock on {@code <file>.lock} and land by an
 * atomic rename, so concurrent writers (threads or processes) lose nothing and a reader never sees
 * half a file; a malformed line is carried over unchanged, never dropped.
 */
public final class CredentialStore {

  private static final Logger LOG = LoggerFactory.getLogger(CredentialStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long RECHECK_NANOS = 1_000_000_000L;

  /**
   * FileChannel locks belong to the whole JVM (a second lock from this JVM throws): threads queue
   * here first.
   */
  private static final Map<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  private final Path file;
  private volatile Snapshot snapshot = new Snapshot(null, -1, List.of(), 0, 0);

  /** Whether the last attempt to read the file succeeded. */
  private volatile boolean readable = true;

  private final AtomicLong reloadFailures = new AtomicLong();

  private record Snapshot(
      FileTime modified,
      long size,
      List<Credential> credentials,
      Map<String, Credential> byHash,
      int malformedLines,
      long checkedAtNanos) {

    Snapshot(
        FileTime modified,
        long size,
        List<Credential> credentials,
        int malformedLines,
        long checkedAtNanos) {
      this(modified, size, credentials, index(credentials), malformedLines, checkedAtNanos);
    }

    /** By hash; the first of equal hashes wins, as in the file's order. */
    private static Map<String, Credential> index(List<Credential> credentials) {
      Map<String, Credential> byHash = new HashMap<>();
      credentials.forEach(c -> byHash.putIfAbsent(c.hash(), c));
      return Map.copyOf(byHash);
    }
  }

  /**
   * One line of the key file: a credential, or the text of a line that is not one (kept as it was).
   */
  private record Line(Credential credential, String text) {}

  private record Parsed(List<Line> lines, int malformed) {
    List<Credential> credentials() {
      return lines.stream().map(Line::credential).filter(Objects::nonNull).toList();
    }
  }

  public CredentialStore(Path file) {
    this.file = file;
  }

  /**
   * A store that reports to {@code metrics}: {@code keys_file_malformed_lines} (lines skipped in
   * the current file), {@code keys_file_readable} (1, or 0 while the last attempt to read the file
   * failed) and {@code keys_file_reload_failures_total}. Reading the gauges looks at the file as a
   * request does (at most once a second).
   */
  public CredentialStore(Path file, MeterRegistry metrics) {
    this(file);
    Gauge.builder("keys_file_malformed_lines", this, CredentialStore::malformedLines)
        .description("lines of the key file that are not a valid key and are ignored")
        .register(metrics);
    Gauge.builder("keys_file_readable", this, store -> store.readable() ? 1 : 0)
        .description(
            "1 when the key file was read, 0 while it cannot be (missing, unreadable, I/O error)")
        .register(metrics);
    FunctionCounter.builder("keys_file_reload_failures", this, CredentialStore::reloadFailures)
        .description("attempts to read the key file that failed; the keys last read stay in use")
        .register(metrics);
  }

  public Path file() {
    return file;
  }

  /**
   * Whether the key file could be read at the last look (it is looked at again when a second has
   * passed).
   */
  public boolean readable() {
    current(false);
    return readable;
  }

  /** Attempts to read the key file that failed (missing, unreadable, an I/O error). */
  public long reloadFailures() {
    return reloadFailures.get();
  }

  /** Lines of the key file, as last read, that are not a valid key and are ignored. */
  public int malformedLines() {
    return current(false).malformedLines();
  }

  /**
   * The live credential whose hash equals the secret's SHA-256. The credential is looked up by that
   * hash and the hashes are then compared in constant time. The lookup's time depends only on the
   * SHA-256 of what was presented, which tells nothing about any stored key's secret (finding a
   * secret from its hash is what SHA-256 prevents), and it stays the same however many keys there
   * are (bench/README.md, "common", has what comparing against every key in turn cost).
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
    return candidate != null && Secrets.hashesEqual(candidate.hash(), presentedHash)
        ? candidate
        : null;
  }

  /** Every stored credential, revoked ones included. */
  public List<Credential> list() {
    return current(true).credentials();
  }

  /** Creates a credential for {@code secret} and stores its hash; the secret itself is not kept. */
  public Credential add(
      String secret, CredentialKind kind, String accountId, List<String> accounts, String name) {
    String hash = Secrets.sha256Hex(secret);
    Credential created = new Credential(hash, kind, accountId, accounts, name, Instant.now(), null);
    return underLock(
        lines -> {
          for (Line line : lines) {
            if (line.credential() != null && line.credential().hash().equals(hash)) {
              return line.credential();
            }
          }
          lines.add(new Line(created, null));
          return created;
        });
  }

  /** Revokes every live credential whose hash starts with {@code hashPrefix}; returns them. */
  public List<Credential> revoke(String hashPrefix) {
    if (hashPrefix == null || hashPrefix.length() < 8) {
      throw new IllegalArgumentException("give at least 8 hex chars of the hash to revoke");
    }
    String prefix = hashPrefix.toLowerCase(Locale.ROOT);
    Instant now = Instant.now();
    return underLock(
        lines -> {
          List<Credential> revoked = new ArrayList<>();
          for (int i = 0; i < lines.size(); i++) {
            Credential c = lines.get(i).credential();
            if (c != null && !c.revoked() && c.hash().startsWith(prefix)) {
              Credential r = c.revoke(now);
              lines.set(i, new Line(r, null));
              revoked.add(r);
            }
          }
          return revoked;
        });
  }

  /**
   * Reads the file, applies {@code change} and writes the result back, all under the file lock, so
   * a change made by another thread or process in between is never overwritten (a create cannot
   * undo a racing revocation).
   */
  private <T> T underLock(Function<List<Line>, T> change) {
    Path target = file.toAbsolutePath().normalize();
    ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(target, p -> new ReentrantLock());
    jvmLock.lock();
    try {
      Files.createDirectories(target.getParent());
      try (FileChannel lockFile =
              FileChannel.open(
                  target.resolveSibling(target.getFileName() + ".lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock ignored = lockFile.lock()) {
        List<Line> lines = new ArrayList<>(read().lines());
        List<Line> before = List.copyOf(lines);
        T result = change.apply(lines);
        if (!lines.equals(before)) {
          write(lines);
        }
        return result;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot update key file " + file, e);
    } finally {
      jvmLock.unlock();
    }
  }

  /**
   * The known credentials; the file is looked at again when {@code force} or after {@link
   * #RECHECK_NANOS}.
   */
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
        snapshot =
            new Snapshot(modified, size, s.credentials(), s.byHash(), s.malformedLines(), now);
      } else {
        Parsed parsed = read();
        snapshot = new Snapshot(modified, size, parsed.credentials(), parsed.malformed(), now);
      }
      readable = true;
      return snapshot;
    } catch (NoSuchFileException e) {
      failedToRead(e);
      snapshot = new Snapshot(FileTime.fromMillis(0), -1, List.of(), 0, now);
      return snapshot;
    } catch (IOException | UncheckedIOException e) {
      failedToRead(e);
      // Keep serving the keys we know rather than locking everybody out on a transient read error;
      // look again in a second, not at every request.
      snapshot =
          new Snapshot(
              s.modified() == null ? FileTime.fromMillis(0) : s.modified(),
              s.size(),
              s.credentials(),
              s.byHash(),
              s.malformedLines(),
              now);
      return snapshot;
    }
  }

  private void failedToRead(Exception e) {
    reloadFailures.incrementAndGet();
    if (readable) {
      LOG.error("key file {} cannot be read: {}", file, e.toString());
    }
    readable = false;
  }

  /**
   * Every line of the file; one that is not a valid key is logged (by number, not content) and kept
   * as text.
   */
  private Parsed read() {
    List<String> texts;
    try {
      texts = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return new Parsed(List.of(), 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read key file " + file, e);
    }
    List<Line> lines = new ArrayList<>();
    int malformed = 0;
    for (int i = 0; i < texts.size(); i++) {
      String text = texts.get(i);
      if (text.isBlank()) {
        continue;
      }
      try {
        lines.add(new Line(fromJson(JSON.readTree(text)), null));
      } catch (IOException | RuntimeException e) {
        malformed++;
        LOG.error(
            "key file {}, line {}: not a valid key ({}); the line is ignored, the other keys still work",
            file,
            i + 1,
            e instanceof IOException ? "not a complete JSON object" : e.getMessage());
        lines.add(new Line(null, text));
      }
    }
    return new Parsed(List.copyOf(lines), malformed);
  }

  private void write(List<Line> lines) throws IOException {
    StringBuilder out = new StringBuilder();
    for (Line line : lines) {
      out.append(line.credential() != null ? toJson(line.credential()) : line.text()).append('\n');
    }
    Path parent = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(parent, ".keys", ".tmp");
    try {
      try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        channel.write(StandardCharsets.UTF_8.encode(out.toString()));
        channel.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    snapshot = new Snapshot(null, -1, List.of(), 0, 0);
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
