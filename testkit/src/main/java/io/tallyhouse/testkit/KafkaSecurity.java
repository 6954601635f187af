package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
 * What a secured local Kafka (one broker or a cluster) is made of, apart from its brokers: the
 * users {@code admin} (the super user) and {@code app} with random passwords, the certificates
 * (made per start by the JDK's keytool, PKCS12, so nothing secret lives in the repository), the
 * broker properties that enforce them with ACLs, the client properties of each user, and the grants
 * the super user makes.
 */
public final class KafkaSecurity {

  public static final String ADMIN = "admin";
  public static final String APP = "app";
  private static final List<String> USERS = List.of(ADMIN, APP);
  private static final String SCRAM = "SCRAM-SHA-512";
  private static final String BROKER = "broker";

  private final SecuredKafka.Mode mode;
  private final Path dir;
  private final String storePassword;
  private final Map<String, String> passwords;

  private KafkaSecurity(SecuredKafka.Mode mode, Path dir) {
    this.mode = mode;
    this.dir = dir;
    this.storePassword = "store-" + UUID.randomUUID();
    Map<String, String> users = new HashMap<>();
    USERS.forEach(user -> users.put(user, user + "-" + UUID.randomUUID()));
    this.passwords = Map.copyOf(users);
  }

  /** New users and certificates (written to {@code dir}) for {@code mode}. */
  static KafkaSecurity create(SecuredKafka.Mode mode, Path dir) {
    KafkaSecurity security = new KafkaSecurity(mode, dir.toAbsolutePath());
    security.makeCertificates();
    return security;
  }

  /** The client listener's protocol, also its name: {@code SASL_SSL} or {@code SSL}. */
  String protocol() {
    return mode.protocol();
  }

  String principal(String user) {
    return mode == SecuredKafka.Mode.MUTUAL_TLS ? "User:CN=" + user : "User:" + user;
  }

  String password(String user) {
    return passwords.get(user);
  }

  Map<String, Object> clientProperties(String bootstrapServers, String user, String password) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", bootstrapServers);
    p.put("security.protocol", mode.protocol());
    p.put("ssl.truststore.location", truststore().toString());
    p.put("ssl.truststore.password", storePassword);
    p.put("ssl.truststore.type", "PKCS12");
    if (mode == SecuredKafka.Mode.SASL_SSL_SCRAM) {
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

  static Map<String, String> serviceEnvironment(Map<String, Object> clientProperties) {
    Map<String, String> env = new HashMap<>();
    clientProperties.forEach(
        (key, value) -> {
          if (key.equals("bootstrap.servers")) {
            env.put("KAFKA_BOOTSTRAP_SERVERS", value.toString());
          } else {
            env.put(
                "KAFKA_CLIENT_" + key.toUpperCase(Locale.ROOT).replace('.', '_'), value.toString());
          }
        });
    return env;
  }

  /** What every broker needs on top of its listeners: TLS, SASL, the authorizer, super users. */
  Map<String, String> brokerProperties() {
    Map<String, String> p = new HashMap<>();
    p.put("ssl.keystore.location", keystore(BROKER).toString());
    p.put("ssl.keystore.password", storePassword);
    p.put("ssl.key.password", storePassword);
    p.put("ssl.keystore.type", "PKCS12");
    p.put("ssl.truststore.location", truststore().toString());
    p.put("ssl.truststore.password", storePassword);
    p.put("ssl.truststore.type", "PKCS12");
    p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    p.put("allow.everyone.if.no.acl.found", "false");
    if (mode == SecuredKafka.Mode.SASL_SSL_SCRAM) {
      p.put("sasl.enabled.mechanisms", SCRAM);
      p.put("sasl.mechanism.inter.broker.protocol", SCRAM);
      p.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", jaas(ADMIN, password(ADMIN)));
      // ANONYMOUS is the principal of the PLAINTEXT controller listener.
      p.put("super.users", "User:" + ADMIN + ";User:ANONYMOUS");
    } else {
      p.put("ssl.client.auth", "required");
      // Brokers talk to each other with the broker certificate.
      p.put("super.users", "User:CN=" + ADMIN + ";User:CN=127.0.0.1;User:ANONYMOUS");
    }
    return p;
  }

  /** The SCRAM users to format into storage ({@code kafka-storage format --add-scram}). */
  List<String> scramUsers() {
    if (mode != SecuredKafka.Mode.SASL_SSL_SCRAM) {
      return List.of();
    }
    return USERS.stream()
        .map(user -> SCRAM + "=[name=" + user + ",password=" + password(user) + "]")
        .toList();
  }

  /**
   * Lets {@code user} do everything with the topics, consumer groups and transactional ids whose
   * names start with {@code prefix}, and write idempotently.
   */
  void grantPrefix(String bootstrapServers, String user, String prefix) {
    String principal = principal(user);
    List<AclBinding> acls = new ArrayList<>();
    for (ResourceType type :
        List.of(ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID)) {
      acls.add(allow(principal, type, prefix, true, AclOperation.ALL));
    }
    for (AclOperation operation : List.of(AclOperation.IDEMPOTENT_WRITE, AclOperation.DESCRIBE)) {
      acls.add(allow(principal, ResourceType.CLUSTER, "kafka-cluster", false, operation));
    }
    createAcls(bootstrapServers, acls, principal + " ACLs on " + prefix);
  }

  /** See {@link SecuredKafkaEndpoint#grantLeastPrivilege}. */
  void grantLeastPrivilege(
      String bootstrapServers, String user, Collection<String> topics, String applicationId) {
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
    createAcls(
        bootstrapServers,
        acls,
        principal + " least-privilege ACLs on " + topics + " and " + applicationId);
  }

  /** Lets {@code user} do only {@code operations} on each of {@code topics} (literal names). */
  void grantTopics(
      String bootstrapServers, String user, Collection<String> topics, AclOperation... operations) {
    String principal = principal(user);
    List<AclBinding> acls = new ArrayList<>();
    for (String topic : topics) {
      for (AclOperation operation : operations) {
        acls.add(allow(principal, ResourceType.TOPIC, topic, false, operation));
      }
    }
    createAcls(bootstrapServers, acls, principal + " ACLs on " + topics);
  }

  private static AclBinding allow(
      String principal, ResourceType type, String name, boolean prefixed, AclOperation operation) {
    return new AclBinding(
        new ResourcePattern(type, name, prefixed ? PatternType.PREFIXED : PatternType.LITERAL),
        new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
  }

  private void createAcls(String bootstrapServers, List<AclBinding> acls, String what) {
    try (Admin admin = Admin.create(clientProperties(bootstrapServers, ADMIN, password(ADMIN)))) {
      admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot grant " + what, e);
    }
  }

  private static String jaas(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }

  private Path keystore(String owner) {
    return dir.resolve(owner + ".p12");
  }

  private Path truststore() {
    return dir.resolve("truststore.p12");
  }

  /**
   * The brokers' key pair (one for every broker, all on 127.0.0.1), and with mTLS one per user;
   * every certificate is in the one truststore, which the brokers and the clients share.
   */
  private void makeCertificates() {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
    List<String> owners = new ArrayList<>(List.of(BROKER));
    if (mode == SecuredKafka.Mode.MUTUAL_TLS) {
      owners.addAll(USERS);
    }
    for (String owner : owners) {
      String cn = owner.equals(BROKER) ? "127.0.0.1" : owner;
      List<String> generate =
          new ArrayList<>(
              List.of(
                  "-genkeypair",
                  "-alias",
                  owner,
                  "-keyalg",
                  "EC",
                  "-groupname",
                  "secp256r1",
                  "-dname",
                  "CN=" + cn,
                  "-validity",
                  "2",
                  "-keystore",
                  keystore(owner).toString(),
                  "-storetype",
                  "PKCS12",
                  "-storepass",
                  storePassword,
                  "-keypass",
                  storePassword));
      if (owner.equals(BROKER)) {
        generate.addAll(List.of("-ext", "SAN=ip:127.0.0.1,dns:localhost"));
      }
      keytool(generate);
      Path certificate = dir.resolve(owner + ".crt");
      keytool(
          List.of(
              "-exportcert",
              "-alias",
              owner,
              "-keystore",
              keystore(owner).toString(),
              "-storetype",
              "PKCS12",
              "-storepass",
              storePassword,
              "-file",
              certificate.toString()));
      keytool(
          List.of(
              "-importcert",
              "-noprompt",
              "-alias",
              owner,
              "-file",
              certificate.toString(),
              "-keystore",
              truststore().toString(),
              "-storetype",
              "PKCS12",
              "-storepass",
              storePassword));
    }
  }

  private static void keytool(List<String> arguments) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(arguments);
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("keytool " + arguments.get(0) + " did not finish");
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(
            "keytool "
                + arguments.get(0)
                + " failed (exit "
                + process.exitValue()
                + "): "
                + output.trim());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run keytool", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running keytool", e);
    }
  }
}
