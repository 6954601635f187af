package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.query.QueryConfig;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.testkit.ApicurioRegistry;
import io.tallyhouse.testkit.SecuredClickHouse;
import io.tallyhouse.testkit.TlsCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline with its stores secured: the registry serves https only (its certificate trusted
 * through SCHEMA_REGISTRY_SSL_TRUSTSTORE_*), ClickHouse is reached over https with a CA file and
 * password users, usage-stream writing as {@code writer} and activity-query reading as the
 * read-only {@code reader}; and a start with a wrong ClickHouse password or an untrusted
 * certificate fails saying which variable to change.
 */
class SecuredStoresIntegrationTest {

  private static final String REGISTRY_SERVER = "registry";

  @TempDir static Path dir;
  private static ApicurioRegistry registry;
  private static SecuredClickHouse clickHouse;
  private static Map<String, String> registryEnvironment;

  @BeforeAll
  static void start() {
    TlsCertificates certificates =
        TlsCertificates.in(dir.resolve("registry-tls"), "store-" + UUID.randomUUID())
            .keyPair(
                REGISTRY_SERVER, TlsCertificates.LOCAL_HOST, TlsCertificates.LOCAL_SERVER_NAMES);
    registry = ApicurioRegistry.startTls(certificates, REGISTRY_SERVER);
    clickHouse = SecuredClickHouse.start(dir.resolve("clickhouse"));
    registryEnvironment =
        Map.of(
            "SCHEMA_REGISTRY_URL",
            registry.url(),
            "SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION",
            certificates.truststore().toString(),
            "SCHEMA_REGISTRY_SSL_TRUSTSTORE_PASSWORD",
            certificates.storePassword(),
            "SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE",
            "PKCS12");
  }

  @AfterAll
  static void stop() {
    if (clickHouse != null) {
      clickHouse.close();
    }
    if (registry != null) {
      registry.stop();
    }
  }

  private static Map<String, String> environment(String name, String clickHouseUser) {
    Map<String, String> env = new HashMap<>(registryEnvironment);
    env.putAll(clickHouse.serviceEnvironment(clickHouseUser, name));
    return env;
  }

  /**
   * usage-stream writes as {@code writer}; activity-query reads as the read-only {@code reader}.
   */
  @Test
  void eventsAreCountedAndAnsweredThroughTlsStoresWithPasswordUsers() throws Exception {
    String name = "tls_" + Long.toHexString(System.nanoTime());
    Map<String, String> reader =
        Map.of(
            "CLICKHOUSE_USER",
            SecuredClickHouse.READER,
            "CLICKHOUSE_PASSWORD",
            clickHouse.password(SecuredClickHouse.READER));
    try (Pipeline pipeline =
        new Pipeline(
            name, Clock.systemUTC(), environment(name, SecuredClickHouse.WRITER), reader)) {
      SecuredKafkaIntegrationTest.countsAndAnswers(pipeline);
    }
  }

  @Test
  void aWrongClickHousePasswordFailsTheStartNamingTheUrlAndUser() throws Exception {
    String name = "tls_wrong_" + Long.toHexString(System.nanoTime());
    String wrong = "wrong-" + UUID.randomUUID();
    Map<String, String> env =
        Pipeline.environment(
            name,
            Files.createTempDirectory(dir, "wrong"),
            environment(name, SecuredClickHouse.WRITER));
    env.put("CLICKHOUSE_PASSWORD", wrong);
    String stream =
        failure(() -> UsageStreamApp.start(ServiceMain.read(env, StreamConfig::read)).close());
    assertTrue(stream.contains("CLICKHOUSE_URL=" + clickHouse.httpsUrl()), stream);
    assertTrue(stream.contains("refused CLICKHOUSE_USER=writer"), stream);
    assertFalse(stream.contains(wrong), "the error shows the password");
    String query =
        failure(
            () ->
                ActivityServer.start(ServiceMain.read(env, QueryConfig::read), Clock.systemUTC())
                    .close());
    assertTrue(query.contains("refused CLICKHOUSE_USER=writer"), query);
    assertFalse(query.contains(wrong), "the error shows the password");
  }

  @Test
  void anUntrustedClickHouseCertificateFailsTheStartNamingTheCaSetting() throws Exception {
    String name = "tls_untrusted_" + Long.toHexString(System.nanoTime());
    Map<String, String> env =
        Pipeline.environment(
            name,
            Files.createTempDirectory(dir, "untrusted"),
            environment(name, SecuredClickHouse.WRITER));
    env.remove("CLICKHOUSE_CA_CERT");
    String stream =
        failure(() -> UsageStreamApp.start(ServiceMain.read(env, StreamConfig::read)).close());
    assertTrue(
        stream.contains("CLICKHOUSE_URL=" + clickHouse.httpsUrl() + " is not trusted"), stream);
    assertTrue(stream.contains("set CLICKHOUSE_CA_CERT"), stream);
  }

  /** The messages of {@code start}'s failure and its causes, one line each. */
  private static String failure(org.junit.jupiter.api.function.Executable start) {
    Throwable e = assertThrows(Throwable.class, start);
    StringBuilder chain = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      chain.append(t.getMessage()).append('\n');
    }
    return chain.toString();
  }
}
