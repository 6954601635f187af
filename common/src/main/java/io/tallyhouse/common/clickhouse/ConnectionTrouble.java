package io.tallyhouse.common.clickhouse;

import com.clickhouse.client.api.ServerException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Turns a failure to talk to ClickHouse that the operator fixes in the settings (an untrusted or
 * misnamed certificate, a refused user, a read-only user asked to write) into a message naming the
 * variable to change. The password is never part of it.
 */
final class ConnectionTrouble {

  /** ClickHouse's codes for an unknown user (192), a wrong password (193), a failed login (516). */
  private static final int UNKNOWN_USER = 192;

  private static final int WRONG_PASSWORD = 193;
  private static final int AUTHENTICATION_FAILED = 516;
  private static final int READONLY = 164;

  private ConnectionTrouble() {}

  /**
   * What a failure means: its message, and whether the settings are wrong (so retrying cannot
   * help).
   */
  record Verdict(String message, boolean misconfigured) {}

  /** {@code detail} with, in front of it, what to change when the failure is one of those. */
  static Verdict explain(ClickHouseConfig config, Throwable failure, String detail) {
    String settings = settingsProblem(config, failure, detail);
    return settings == null ? new Verdict(detail, false) : new Verdict(settings, true);
  }

  private static String settingsProblem(ClickHouseConfig config, Throwable failure, String detail) {
    String url = "CLICKHOUSE_URL=" + config.url();
    String user = "CLICKHOUSE_USER=" + config.user();
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLPeerUnverifiedException || misnamed(t)) {
        return "the server's TLS certificate does not name the host in "
            + url
            + "; use the host name the certificate was issued for ("
            + detail
            + ")";
      }
      if (t instanceof CertPathValidatorException
          || t.getClass().getName().endsWith("SunCertPathBuilderException")) {
        return "the server's TLS certificate at "
            + url
            + " is not trusted; set CLICKHOUSE_CA_CERT to a PEM file with the certificate"
            + " authority that signed it ("
            + detail
            + ")";
      }
      if (t instanceof ServerException server) {
        int code = server.getCode();
        int status = server.getTransportProtocolCode();
        if (code == UNKNOWN_USER
            || code == WRONG_PASSWORD
            || code == AUTHENTICATION_FAILED
            || status == 401) {
          return "ClickHouse at "
              + url
              + " refused "
              + user
              + ": unknown user or wrong CLICKHOUSE_PASSWORD ("
              + detail
              + ")";
        }
        if (code == READONLY) {
          return user + " is read-only at " + url + " (" + detail + ")";
        }
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLException) {
        return "TLS with "
            + url
            + " failed; is the port an https port, and CLICKHOUSE_CA_CERT the right CA? ("
            + detail
            + ")";
      }
    }
    return null;
  }

  /** The JDK's own host check (when it makes it) fails with a CertificateException naming it. */
  private static boolean misnamed(Throwable t) {
    String message = String.valueOf(t.getMessage());
    return t instanceof CertificateException
        && (message.contains("subject alternative names") || message.contains("No name matching"));
  }
}
