package io.tallyhouse.common.auth;

/** What a secret may be used for. */
public enum CredentialKind {
  /** Reads one account's activity (activity-query). */
  MANAGEMENT("th_mk_"),
  /** Posts usage events (gateway-ingest), optionally limited to some accounts. */
  INGEST("th_it_");

  private final String secretPrefix;

  CredentialKind(String secretPrefix) {
    this.secretPrefix = secretPrefix;
  }

  /** A readable prefix so a leaked secret is recognisable in logs and secret scanners. */
  public String secretPrefix() {
    return secretPrefix;
  }

  public static CredentialKind parse(String text) {
    for (CredentialKind kind : values()) {
      if (kind.name().equalsIgnoreCase(text)) {
        return kind;
      }
    }
    throw new IllegalArgumentException("kind must be management or ingest, got: " + text);
  }
}
