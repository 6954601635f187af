package io.tallyhouse.testkit;

import java.util.Collection;
import java.util.Map;
import org.apache.kafka.common.acl.AclOperation;

/**
 * A running Kafka whose clients must prove who they are, with ACLs enforced and {@code admin} its
 * super user: what tests ask of {@link SecuredKafka} (one broker) and {@link KafkaCluster} alike.
 */
public interface SecuredKafkaEndpoint extends KafkaEndpoint {

  String ADMIN = KafkaSecurity.ADMIN;
  String APP = KafkaSecurity.APP;

  /** The users, certificates and grants of this Kafka. */
  KafkaSecurity security();

  /** {@code user}'s Kafka principal. */
  default String principal(String user) {
    return security().principal(user);
  }

  /** {@code user}'s SCRAM password. */
  default String password(String user) {
    return security().password(user);
  }

  /** The client properties {@code user} connects with. */
  default Map<String, Object> clientProperties(String user) {
    return clientProperties(user, password(user));
  }

  /**
   * The client properties {@code user} connects with, giving {@code password} (SASL_SSL; with mTLS
   * the certificate is the credential and {@code password} is ignored).
   */
  default Map<String, Object> clientProperties(String user, String password) {
    return security().clientProperties(bootstrapServers(), user, password);
  }

  /**
   * {@code user}'s client properties as a service reads them: {@code KAFKA_CLIENT_*} variables
   * (with {@code KAFKA_BOOTSTRAP_SERVERS}).
   */
  default Map<String, String> serviceEnvironment(String user, String password) {
    return KafkaSecurity.serviceEnvironment(clientProperties(user, password));
  }

  default Map<String, String> serviceEnvironment(String user) {
    return serviceEnvironment(user, password(user));
  }

  /**
   * Lets {@code user} do everything with the topics, consumer groups and transactional ids whose
   * names start with {@code prefix}, and write idempotently: granted by the super user.
   */
  default void grantPrefix(String user, String prefix) {
    security().grantPrefix(bootstrapServers(), user, prefix);
  }

  /**
   * The least a pipeline service's principal needs, granted by the super user: READ, WRITE,
   * DESCRIBE and DESCRIBE_CONFIGS on {@code topics} (which an administrator created) and no CREATE
   * or ALTER on them; for Kafka Streams' own topics (its changelogs, named after {@code
   * applicationId}) CREATE too, on that prefix only; READ and DESCRIBE on the consumer groups and
   * WRITE and DESCRIBE on the transactional ids starting with {@code applicationId};
   * IDEMPOTENT_WRITE on the cluster.
   */
  default void grantLeastPrivilege(String user, Collection<String> topics, String applicationId) {
    security().grantLeastPrivilege(bootstrapServers(), user, topics, applicationId);
  }

  /**
   * Lets {@code user} do only {@code operations} on each of {@code topics} (literal names): granted
   * by the super user.
   */
  default void grantTopics(String user, Collection<String> topics, AclOperation... operations) {
    security().grantTopics(bootstrapServers(), user, topics, operations);
  }
}
