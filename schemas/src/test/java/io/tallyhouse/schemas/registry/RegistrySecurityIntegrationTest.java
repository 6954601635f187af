package io.tallyhouse.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.testkit.ApicurioRegistry;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.TlsCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry client over https against the real Apicurio serving TLS only (certificate made in
 * the test, checked against the truststore the operator gives, host name checked), and with HTTP
 * basic auth enforced in front of the real registry.
 */
class RegistrySecurityIntegrationTest {

  private static final String SERVER = "registry";
  private static final Schema SCHEMA =
      new Schema.Parser()
          .parse(
              "{\"type\":\"record\",\"name\":\"Secured\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}");

  @TempDir static Path dir;
  private static TlsCertificates certificates;
  private static ApicurioRegistry tlsRegistry;

  @BeforeAll
  static void start() {
    certificates =
        TlsCertificates.in(dir.resolve("tls"), "store-" + UUID.randomUUID())
            .keyPair(SERVER, TlsCertificates.LOCAL_HOST, TlsCertificates.LOCAL_SERVER_NAMES);
    tlsRegistry = ApicurioRegistry.startTls(certificates, SERVER);
  }

  @AfterAll
  static void stop() {
    tlsRegistry.stop();
  }

  private static SchemaRegistryClient client(String url, RegistryTruststore truststore) {
    return new SchemaRegistryClient(
        new RegistryConfig(url, null, null, Duration.ofSeconds(20), truststore));
  }

  @Test
  void anHttpsRegistryIsTrustedThroughAPkcs12Truststore() {
    SchemaRegistryClient client =
        client(
            tlsRegistry.url(),
            new RegistryTruststore(
                certificates.truststore(), certificates.storePassword(), "PKCS12"));
    int id = client.register("tls-p12-value", SCHEMA);
    assertEquals(SCHEMA, client.schemaById(id));
    assertTrue(tlsRegistry.url().startsWith("https://"), tlsRegistry.url());
  }

  @Test
  void anHttpsRegistryIsTrustedThroughAPemCaFile() {
    SchemaRegistryClient client =
        client(
            tlsRegistry.url(),
            new RegistryTruststore(certificates.certificate(SERVER), null, "PEM"));
    int id = client.register("tls-pem-value", SCHEMA);
    assertEquals(SCHEMA, new SchemaRegistryClient(client.config()).schemaById(id));
  }

  @Test
  void aCertificateNotSignedByATrustedCaIsAClearError() {
    // No truststore: the JVM's default authorities, none of which signed the test certificate.
    SchemaRegistryClient client = client(tlsRegistry.url(), null);
    SchemaRegistryException e =
        assertThrows(
            SchemaRegistryException.class, () -> client.register("tls-none-value", SCHEMA));
    assertTrue(
        e.getMessage()
            .contains("TLS with the schema registry at SCHEMA_REGISTRY_URL=" + tlsRegistry.url()),
        e.getMessage());
    assertTrue(e.getMessage().contains("SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION"), e.getMessage());
    assertEquals(e.getMessage(), client.trouble().orElseThrow());
  }

  @Test
  void aCertificateForAnotherHostIsRefused() {
    String byAddress = tlsRegistry.url().replace(TlsCertificates.LOCAL_HOST, "127.0.0.1");
    SchemaRegistryClient client =
        client(byAddress, new RegistryTruststore(certificates.certificate(SERVER), null, "PEM"));
    SchemaRegistryException e =
        assertThrows(
            SchemaRegistryException.class, () -> client.register("tls-host-value", SCHEMA));
    assertTrue(e.getMessage().contains("SCHEMA_REGISTRY_URL=" + byAddress), e.getMessage());
  }

  @Test
  void aTruststoreWithTheWrongPasswordIsRefusedAtStart() {
    RegistryTruststore wrong =
        new RegistryTruststore(certificates.truststore(), "not-the-password", "PKCS12");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, wrong::sslContext);
    assertTrue(e.getMessage().contains(certificates.truststore().toString()), e.getMessage());
  }

  @Test
  void basicAuthCredentialsAreSentAndRefusalsNameTheRegistryAndTheUser() throws Exception {
    String password = "app-" + UUID.randomUUID();
    try (BasicAuthProxy proxy =
        new BasicAuthProxy(Infra.registry().url(), Map.of("app", password), Set.of())) {
      SchemaRegistryClient right =
          new SchemaRegistryClient(
              new RegistryConfig(proxy.url(), "app", password, Duration.ofSeconds(20)));
      int id = right.register("basic-auth-value", SCHEMA);
      assertEquals(SCHEMA, right.schemaById(id));

      String wrongPassword = "wrong-" + UUID.randomUUID();
      SchemaRegistryClient wrong =
          new SchemaRegistryClient(
              new RegistryConfig(proxy.url(), "app", wrongPassword, Duration.ofSeconds(20)));
      SchemaRegistryException refused =
          assertThrows(SchemaRegistryException.class, () -> wrong.schemaById(id + 1_000_000));
      assertEquals(401, refused.httpStatus());
      assertFalse(refused.schemaNotFound());
      assertTrue(refused.getMessage().contains(proxy.url()), refused.getMessage());
      assertTrue(refused.getMessage().contains("HTTP 401"), refused.getMessage());
      assertTrue(
          refused.getMessage().contains("refused SCHEMA_REGISTRY_USER=app"), refused.getMessage());
      assertFalse(refused.getMessage().contains(wrongPassword), "no password in the message");
      assertFalse(wrong.config().toString().contains(wrongPassword), "no password in the config");

      SchemaRegistryClient anonymous = new SchemaRegistryClient(new RegistryConfig(proxy.url()));
      SchemaRegistryException unauthenticated =
          assertThrows(
              SchemaRegistryException.class, () -> anonymous.register("basic-auth-value", SCHEMA));
      assertTrue(
          unauthenticated
              .getMessage()
              .contains("set SCHEMA_REGISTRY_USER and SCHEMA_REGISTRY_PASSWORD"),
          unauthenticated.getMessage());
    }
  }

  @Test
  void aUserThatMayNotChangeTheConfigIsToldWhatTheAdministratorRuns() throws Exception {
    String password = "app-" + UUID.randomUUID();
    String subject = "restricted-" + System.nanoTime() + "-value";
    SchemaRegistryClient admin =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    admin.register(subject, SCHEMA);
    admin.setCompatibility(subject, "NONE");
    try (BasicAuthProxy proxy =
        new BasicAuthProxy(Infra.registry().url(), Map.of("app", password), Set.of())) {
      SchemaRegistryClient app =
          new SchemaRegistryClient(
              new RegistryConfig(proxy.url(), "app", password, Duration.ofSeconds(20)));
      SchemaRegistryException e =
          assertThrows(
              SchemaRegistryException.class, () -> app.requireBackwardCompatibility(subject));
      assertEquals(403, e.httpStatus());
      assertTrue(e.getMessage().contains("has compatibility NONE"), e.getMessage());
      assertTrue(
          e.getMessage().contains("PUT " + proxy.url() + "/config/" + subject), e.getMessage());

      // With no level of its own the subject follows the global BACKWARD (the testkit sets it):
      // nothing to change, so starting needs no config rights.
      String fresh = "restricted-fresh-" + System.nanoTime() + "-value";
      app.requireBackwardCompatibility(fresh);
      assertEquals("BACKWARD", app.globalCompatibility());
    }
  }
}
