package io.tallyhouse.ingest.http;

import io.tallyhouse.common.auth.Credential;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.http.BearerToken;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Who may post events: the bearer's ingest token from the key file, and the accounts that token may
 * post for.
 */
final class IngestAuthorization {

  private final CredentialStore keys;

  IngestAuthorization(CredentialStore keys) {
    this.keys = keys;
  }

  /**
   * The ingest token's credential; 401 when the header carries no known key, 403 for a key of
   * another kind.
   */
  Credential authenticate(String authorizationHeader) throws RequestRefused {
    String secret = BearerToken.secret(authorizationHeader);
    Optional<Credential> credential = secret == null ? Optional.empty() : keys.authenticate(secret);
    if (credential.isEmpty()) {
      throw new RequestRefused("unauthorized", 401, "Missing or unknown ingest token");
    }
    if (credential.get().kind() != CredentialKind.INGEST) {
      throw new RequestRefused("forbidden", 403, "This key is not an ingest token");
    }
    return credential.get();
  }

  /** 403 naming every account of {@code events} the token may not post for. */
  void requireAccounts(Credential credential, List<UsageEvent> events) throws RequestRefused {
    TreeSet<String> refused = new TreeSet<>();
    for (UsageEvent event : events) {
      if (!credential.mayIngestFor(event.getAccountId())) {
        refused.add(event.getAccountId());
      }
    }
    if (!refused.isEmpty()) {
      throw new RequestRefused(
          "forbidden_account",
          403,
          "This ingest token may not post events for account(s) " + String.join(", ", refused));
    }
  }
}
