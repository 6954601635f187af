package io.tallyhouse.schemas.registry;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The certificates an https registry URL is checked against, given the way Confluent's clients take
 * them ({@code schema.registry.ssl.truststore.location/password/type}): a PKCS12 or JKS truststore,
 * or a PEM file of CA certificates (type PEM, no password), so the same truststore the Kafka
 * clients use can serve the registry too. The host name is checked against the certificate as well
 * (the JDK's HTTP client always does).
 *
 * @param location the truststore file
 * @param password its password (null for PEM)
 * @param type PKCS12, JKS or PEM
 */
public record RegistryTruststore(Path location, String password, String type) {

  public static final Set<String> TYPES = Set.of("PKCS12", "JKS", "PEM");

  public RegistryTruststore {
    type = type == null ? "PKCS12" : type.toUpperCase(Locale.ROOT);
    if (!TYPES.contains(type)) {
      throw new IllegalArgumentException("truststore type must be one of " + TYPES + ": " + type);
    }
  }

  /** The password never appears: records print their components. */
  @Override
  public String toString() {
    return "RegistryTruststore[location=" + location + ", type=" + type + "]";
  }

  /**
   * A TLS context trusting exactly these certificates; fails with a message naming the file when it
   * cannot be read (wrong password, wrong type, no certificate).
   */
  public SSLContext sslContext() {
    try {
      KeyStore trusted = load();
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot read the " + type + " truststore " + location + ": " + e.getMessage(), e);
    }
  }

  private KeyStore load() throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(location)) {
      if (type.equals("PEM")) {
        Collection<? extends Certificate> certificates =
            CertificateFactory.getInstance("X.509").generateCertificates(in);
        if (certificates.isEmpty()) {
          throw new GeneralSecurityException("no certificate in the file");
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        int n = 0;
        for (Certificate certificate : certificates) {
          store.setCertificateEntry("ca-" + n++, certificate);
        }
        return store;
      }
      KeyStore store = KeyStore.getInstance(type);
      store.load(in, password == null ? null : password.toCharArray());
      return store;
    }
  }
}
