package io.tallyhouse.local;

import io.tallyhouse.testkit.SecuredKafka;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gateway-ingest and usage-stream against a broker whose only client listener is SSL with client
 * certificates required (mTLS), configured through {@code KAFKA_CLIENT_*} variables only: the
 * services are the principal of their certificate, {@code User:CN=app}, with ACLs enforced.
 */
class MutualTlsKafkaIntegrationTest {

  @TempDir static Path dir;
  private static SecuredKafka kafka;
  private static Pipeline pipeline;

  @BeforeAll
  static void start() throws Exception {
    kafka = SecuredKafka.start(SecuredKafka.Mode.MUTUAL_TLS, dir.resolve("kafka"));
    String name = "mtls_" + Long.toHexString(System.currentTimeMillis());
    kafka.grantPrefix(SecuredKafka.APP, name);
    pipeline = new Pipeline(name, Clock.systemUTC(), kafka.serviceEnvironment(SecuredKafka.APP));
  }

  @AfterAll
  static void stop() {
    if (pipeline != null) {
      pipeline.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void eventsPublishedWithAClientCertificateAreCountedAndAnswered() throws Exception {
    SecuredKafkaIntegrationTest.countsAndAnswers(pipeline);
  }
}
