package io.tallyhouse.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * A one-node {@link LocalKafka} whose only client listener is secured, with ACLs enforced ({@code
 * allow.everyone.if.no.acl.found=false}) and {@code admin} its super user: either SASL_SSL with
 * SCRAM-SHA-512 users {@code admin} and {@code app}, or SSL with client certificates (mTLS), where
 * a client is the principal of its certificate's DN ({@code User:CN=app}). The certificates are
 * made for each start by the JDK's keytool (PKCS12), so nothing secret lives in the repository.
 */
public final class SecuredKafka implements KafkaEndpoint, AutoCloseable {

  /** How clients prove who they are. */
  public enum Mode {
    SASL_SSL_SCRAM("SASL_SSL"),
    MUTUAL_TLS("SSL");

    private final String protocol;

    Mode(String protocol) {
      this.protocol = protocol;
    }
  }

  public static final String ADMIN = "admin";
  public static final String APP = "app";
  private static final List<String> USERS = List.of(ADMIN, APP);
  private static final String SCRAM = "SCRAM-SHA-512";

  private final Mode mode;
  private final String storePassword;
  private final TlsCertificates certificates;
  private final Map<String, String> passwords;
  private final LocalKafka kafka;

  private SecuredKafka(Mode mode, Path dir) {
    this.mode = mode;
    this.storePassword = "store-" + UUID.randomUUID();
    this.certificates = TlsCertificates.in(dir, storePassword);
    Map<String, String> users = new HashMap<>();
    USERS.forEach(user -> users.put(user, user + "-" + UUID.randomUUID()));
    this.passwords = Map.copyOf(users);
    makeCertificates();
    this.kafka =
        LocalKafka.start(
            dir.resolve("kafka"),
            Ports.freePort(),
            Ports.freePort(),
            new LocalKafka.Security(mode.protocol, brokerProperties(), scramUsers()));
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

  /** {@code user}'s Kafka principal. */
  public String principal(String user) {
    return mode == Mode.MUTUAL_TLS ? "User:CN=" + user : "User:" + user;
  }

  /** {@code user}'s SCRAM password. */
  public String password(String user) {
    return passwords.get(user);
  }

  /** The client properties {@code user} connects with. */
  public Map<String, Object> clientProperties(String user) {
    return clientProperties(user, passwords.get(user));
  }

  /**
   * The client properties {@code user} connects with, giving {@code password} (SASL_SSL; with mTLS
   * the certificate is the credential and {@code password} is ignored).
   */
  public Map<String, Object> clientProperties(String user, String password) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", bootstrapServers());
    p.put("security.protocol", mode.protocol);
    p.put("ssl.truststore.location", truststore().toString());
    p.put("ssl.truststore.password", storePassword);
    p.put("ssl.truststore.type", "PKCS12");
    if (mode == Mode.SASL_SSL_SCRAM) {
      p.put("sasl.mechanism", SCRAM);
      p.put("sasl.jaas.config", jaas(user, password));
    } else {
      p.put("ssl.keystore.location", keystore(user).toString());
      p.put("ssl.keystore.password", storePassword);
      p.put("ssl.key.password", storePassword);
      p.put("ssl.keystore.type", "PKCS12");
    }
    return p;
  }

  /**
   * {@code user}'s client properties as a service reads them: {@code KAFKA_CLIENT_*} variables
   * (with {@code KAFKA_BOOTSTRAP_SERVERS}).
   */
  public Map<String, String> serviceEnvironment(String user, String password) {
    Map<String, String> env = new HashMap<>();
    clientProperties(user, password)
        .forEach(
            (key, value) -> {
              if (key.equals("bootstrap.servers")) {
                env.put("KAFKA_BOOTSTRAP_SERVERS", value.toString());
              } else {
                env.put(
                    "KAFKA_CLIENT_" + key.toUpperCase(Locale.ROOT).replace('.', '_'),
                    value.toString());
              }
            });
    return env;
  }

  public Map<String, String> serviceEnvironment(String user) {
    return serviceEnvironment(user, passwords.get(user));
  }

  /**
   * Lets {@code user} do everything with the topics, consumer groups and transactional ids whose
   * names start with {@code prefix}, and write idempotently: granted by the super user.
   */
  public void grantPrefix(String user, String prefix) {
    String principal = principal(user);
    List<AclBinding> acls = new ArrayList<>();
    for (ResourceType type :
        List.of(ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID)) {
      acls.add(
          new AclBinding(
              new ResourcePattern(type, prefix, PatternType.PREFIXED),
              new AccessControlEntry(principal, "*", AclOperation.ALL, AclPermissionType.ALLOW)));
    }
    for (AclOperation operation : List.of(AclOperation.IDEMPOTENT_WRITE, AclOperation.DESCRIBE)) {
      acls.add(
          new AclBinding(
              new ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL),
              new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW)));
    }
    createAcls(acls, principal + " ACLs on " + prefix);
  }

  /**
   * The least a pipeline service's principal needs, granted by the super user: READ, WRITE,
   * DESCRIBE and DESCRIBE_CONFIGS on {@code topics} (which an administrator created) and no CREATE
   * or ALTER on them; for Kafka Streams' own topics (its changelogs, named after {@code
   * applicationId}) CREATE too, on that prefix only; READ and DESCRIBE on the consumer groups and
   * WRITE and DESCRIBE on the transactional ids starting with {@code applicationId};
   * IDEMPOTENT_WRITE on the cluster.
   */
  public void grantLeastPrivilege(String user, Collection<String> topics, String applicationId) {
    String principal = principal(user);
    List<AclBinding> acls = new ArrayList<>();
    List<AclOperation> onTopics =
        List.of(
            AclOperation.READ,
            AclOperation.WRITE,
            AclOperation.DESCRIBE,
            AclOperation.DESCRIBE_CONFIGS);
    for (String topic : topics) {
      onTopics.forEach(
          operation -> acls.add(allow(principal, ResourceType.TOPIC, topic, false, operation)));
    }
    List<AclOperation> onOwnTopics = new ArrayList<>(onTopics);
    onOwnTopics.add(AclOperation.CREATE);
    onOwnTopics.forEach(
        operation ->
            acls.add(allow(principal, ResourceType.TOPIC, applicationId, true, operation)));
    for (AclOperation operation : List.of(AclOperation.READ, AclOperation.DESCRIBE)) {
      acls.add(allow(principal, ResourceType.GROUP, applicationId, true, operation));
    }
    for (AclOperation operation : List.of(AclOperation.WRITE, AclOperation.DESCRIBE)) {
      acls.add(allow(principal, ResourceType.TRANSACTIONAL_ID, applicationId, true, operation));
    }
    acls.add(
        allow(
            principal,
            ResourceType.CLUSTER,
            "kafka-cluster",
            false,
            AclOperation.IDEMPOTENT_WRITE));
    createAcls(acls, principal + " least-privilege ACLs on " + topics + " and " + applicationId);
  }

  private static AclBinding allow(
      String principal, ResourceType type, String name, boolean prefixed, AclOperation operation) {
    return new AclBinding(
        new ResourcePattern(type, name, prefixed ? PatternType.PREFIXED : PatternType.LITERAL),
        new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
  }

  /**
   * Lets {@code user} do only {@code operations} on each of {@code topics} (literal names): granted
   * by the super user.
   */
  public void grantTopics(String user, Collection<String> topics, AclOperation... operations) {
    String principal = principal(user);
    List<AclBinding> acls = new ArrayList<>();
    for (String topic : topics) {
      for (AclOperation operation : operations) {
        acls.add(allow(principal, ResourceType.TOPIC, topic, false, operation));
      }
    }
    createAcls(acls, principal + " ACLs on " + topics);
  }

  private void createAcls(List<AclBinding> acls, String what) {
    try (Admin admin = Admin.create(clientProperties(ADMIN))) {
      admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot grant " + what, e);
    }
  }

  @Override
  public void close() {
    kafka.stop();
  }

  private Map<String, String> brokerProperties() {
    Map<String, String> p = new HashMap<>();
    p.put("ssl.keystore.location", keystore("broker").toString());
    p.put("ssl.keystore.password", storePassword);
    p.put("ssl.key.password", storePassword);
    p.put("ssl.keystore.type", "PKCS12");
    p.put("ssl.truststore.location", truststore().toString());
    p.put("ssl.truststore.password", storePassword);
    p.put("ssl.truststore.type", "PKCS12");
    p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    p.put("allow.everyone.if.no.acl.found", "false");
    if (mode == Mode.SASL_SSL_SCRAM) {
      p.put("sasl.enabled.mechanisms", SCRAM);
      p.put("sasl.mechanism.inter.broker.protocol", SCRAM);
      p.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", jaas(ADMIN, password(ADMIN)));
      // ANONYMOUS is the principal of the PLAINTEXT controller listener.
      p.put("super.users", "User:" + ADMIN + ";User:ANONYMOUS");
    } else {
      p.put("ssl.client.auth", "required");
      // The broker talks to itself with its own certificate.
      p.put("super.users", "User:CN=" + ADMIN + ";User:CN=127.0.0.1;User:ANONYMOUS");
    }
    return p;
  }

  private List<String> scramUsers() {
    if (mode != Mode.SASL_SSL_SCRAM) {
      return List.of();
    }
    return USERS.stream()
        .map(user -> SCRAM + "=[name=" + user + ",password=" + password(user) + "]")
        .toList();
  }

  private static String jaas(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }

  private Path keystore(String owner) {
    return certificates.keystore(owner);
  }

  private Path truststore() {
    return certificates.truststore();
  }

  /**
   * The broker's key pair (for 127.0.0.1), and with mTLS one per user; every certificate is in the
   * one truststore, which the broker and the clients share.
   */
  private void makeCertificates() {
    certificates.keyPair("broker", "127.0.0.1", "ip:127.0.0.1,dns:localhost");
    if (mode == Mode.MUTUAL_TLS) {
      USERS.forEach(user -> certificates.keyPair(user, user, null));
    }
  }
}
