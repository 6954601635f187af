package io.tallyhouse.common.http;

/**
 * The one reading of {@code Authorization: Bearer <secret>} every service uses (RFC 6750, scheme
 * case-insensitive).
 */
public final class BearerToken {

  private static final String SCHEME = "Bearer ";

  private BearerToken() {}

  /**
   * The secret of the header, or null when the header is missing, of another scheme or carries no
   * secret.
   */
  public static String secret(String header) {
    if (header == null) {
      return null;
    }
    String value = header.trim();
    if (value.length() < SCHEME.length()
        || !value.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      return null;
    }
    String secret = value.substring(SCHEME.length()).trim();
    return secret.isEmpty() ? null : secret;
  }
}
