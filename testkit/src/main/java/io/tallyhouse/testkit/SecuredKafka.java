package io.tallyhouse.testkit;

import java.nio.file.Path;

/**
 * A one-node {@link LocalKafka} whose only client listener is secured, with ACLs enforced ({@code
 * allow.everyone.if.no.acl.found=false}) and {@code admin} its super user: either SASL_SSL with
 * SCRAM-SHA-512 users {@code admin} and {@code app}, or SSL with client certificates (mTLS), where
 * a client is the principal of its certificate's DN ({@code User:CN=app}). Users, certificates and
 * grants are {@link KafkaSecurity}'s, as for {@link KafkaCluster}.
 */
public final class SecuredKafka implements SecuredKafkaEndpoint, AutoCloseable {

  /** How clients prove who they are. */
  public enum Mode {
    SASL_SSL_SCRAM("SASL_SSL"),
    MUTUAL_TLS("SSL");

    private final String protocol;

    Mode(String protocol) {
      this.protocol = protocol;
    }

    String protocol() {
      return protocol;
    }
  }

  private final KafkaSecurity security;
  private final LocalKafka kafka;

  private SecuredKafka(Mode mode, Path dir) {
    this.security = KafkaSecurity.create(mode, dir);
    this.kafka =
        LocalKafka.start(
            dir.resolve("kafka"),
            Ports.freePort(),
            Ports.freePort(),
            new LocalKafka.Security(
                security.protocol(), security.brokerProperties(), security.scramUsers()));
  }

  /** Starts a secured broker in {@code dir} (certificates and storage). */
  public static SecuredKafka start(Mode mode, Path dir) {
    TestLane.requireServersAllowed("Kafka");
    return new SecuredKafka(mode, dir.toAbsolutePath());
  }

  @Override
  public String bootstrapServers() {
    return kafka.bootstrapServers();
  }

  @Override
  public KafkaSecurity security() {
    return security;
  }

  @Override
  public void close() {
    kafka.stop();
  }
}
