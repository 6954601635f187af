package io.tallyhouse.common.auth;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A stored key: only the SHA-256 of the secret is kept.
 *
 * @param hash lowercase hex SHA-256 of the secret
 * @param accountId the account a management key reads; for an ingest token, null
 * @param accounts for an ingest token, the account_ids it may post for (empty: any); unused for
 *     management keys
 */
public record Credential(
    String hash,
    CredentialKind kind,
    String accountId,
    List<String> accounts,
    String name,
    Instant createdAt,
    Instant revokedAt) {

  public Credential {
    Objects.requireNonNull(hash, "hash");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(createdAt, "createdAt");
    if (!hash.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("hash must be 64 lowercase hex chars");
    }
    if (kind == CredentialKind.MANAGEMENT && (accountId == null || accountId.isEmpty())) {
      throw new IllegalArgumentException("a management key belongs to one account");
    }
    accounts = accounts == null ? List.of() : List.copyOf(accounts);
    name = name == null ? "" : name;
  }

  public boolean revoked() {
    return revokedAt != null;
  }

  /** Whether an ingest token may post events of {@code account}. */
  public boolean mayIngestFor(String account) {
    return kind == CredentialKind.INGEST && (accounts.isEmpty() || accounts.contains(account));
  }

  public Credential revoke(Instant at) {
    return new Credential(hash, kind, accountId, accounts, name, createdAt, at);
  }
}
