package io.tallyhouse.query.auth;

import io.tallyhouse.common.auth.Credential;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.http.BearerToken;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Whose management key an {@code Authorization} header carries, and which keys were found valid
 * before: only their requests are tried on the event loop, which never reads the key file for a
 * secret it has not known valid.
 */
public final class ManagementKeys {

  /** SHA-256 of management keys remembered as valid; the set starts over when full. */
  static final int MAX_REMEMBERED_KEYS = 100_000;

  /** What the header says about its caller. */
  public enum Outcome {
    MISSING,
    UNKNOWN,
    NOT_MANAGEMENT,
    VALID
  }

  /** The caller's account ({@link Outcome#VALID} only) and the outcome. */
  public record Caller(String account, Outcome outcome) {}

  private final CredentialStore credentials;

  /** SHA-256 of the management keys last found valid. */
  private final Set<String> valid = ConcurrentHashMap.newKeySet();

  public ManagementKeys(CredentialStore credentials) {
    this.credentials = credentials;
  }

  /**
   * Looks the header's secret up in the key file (which the store re-reads within a second of a
   * change) and remembers whether it is a valid management key.
   */
  public Caller authenticate(String authorization) {
    String secret = BearerToken.secret(authorization);
    Optional<Credential> credential = credentials.authenticate(secret);
    boolean management =
        credential.isPresent() && credential.get().kind() == CredentialKind.MANAGEMENT;
    if (secret != null) {
      remember(Secrets.sha256Hex(secret), management);
    }
    if (credential.isEmpty()) {
      return new Caller(null, authorization == null ? Outcome.MISSING : Outcome.UNKNOWN);
    }
    if (!management) {
      return new Caller(null, Outcome.NOT_MANAGEMENT);
    }
    return new Caller(credential.get().accountId(), Outcome.VALID);
  }

  /** Whether the header's secret was a valid management key when last looked up; reads nothing. */
  public boolean knownValid(String authorization) {
    String secret = BearerToken.secret(authorization);
    return secret != null && valid.contains(Secrets.sha256Hex(secret));
  }

  private void remember(String secretHash, boolean management) {
    if (!management) {
      valid.remove(secretHash);
    } else if (!valid.contains(secretHash)) {
      if (valid.size() >= MAX_REMEMBERED_KEYS) {
        valid.clear();
      }
      valid.add(secretHash);
    }
  }
}
