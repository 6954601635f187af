package io.tallyhouse.common.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The Kafka client properties an operator sets without code, read the way the common Kafka images
 * map variables: the variable's name after its prefix, lower case, underscores as dots ({@code
 * KAFKA_CLIENT_SASL_JAAS_CONFIG} is {@code sasl.jaas.config}). {@code KAFKA_CLIENT_*} applies to
 * every client a service makes; {@code KAFKA_PRODUCER_*}, {@code KAFKA_CONSUMER_*}, {@code
 * KAFKA_ADMIN_*} and {@code KAFKA_STREAMS_*} to that role only, and win over {@code
 * KAFKA_CLIENT_*}.
 *
 * <p>A service names what it fixes per role (what its guarantees rest on, {@link Fixed}); setting
 * one of those is a problem naming the variable and why. The values may be secrets (passwords, JAAS
 * configurations): nothing here logs or shows them, only their keys.
 *
 * @param bootstrapServers {@code KAFKA_BOOTSTRAP_SERVERS}, given to every client
 * @param client the properties of every client
 * @param roles the properties of one role, by role
 */
public record KafkaClientSettings(
    String bootstrapServers, Map<String, String> client, Map<Role, Map<String, String>> roles) {

  /** A kind of Kafka client, with the prefix of its variables. */
  public enum Role {
    PRODUCER(
        "KAFKA_PRODUCER_",
        "producer.",
        "producer property (usage-stream: Kafka Streams' producers)"),
    CONSUMER(
        "KAFKA_CONSUMER_",
        "consumer.",
        "consumer property (usage-stream: the ClickHouse writer's and Kafka Streams' consumers)"),
    ADMIN("KAFKA_ADMIN_", "admin.", "admin client property (usage-stream: also Kafka Streams')"),
    STREAMS("KAFKA_STREAMS_", "", "Streams property");

    private final String variablePrefix;
    private final String streamsPrefix;
    private final String meaning;

    Role(String variablePrefix, String streamsPrefix, String meaning) {
      this.variablePrefix = variablePrefix;
      this.streamsPrefix = streamsPrefix;
      this.meaning = meaning;
    }

    public String variablePrefix() {
      return variablePrefix;
    }

    String lowerName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public static final String CLIENT_PREFIX = "KAFKA_CLIENT_";

  /** What every service fixes for every role: where the brokers are and the record formats. */
  private static final Map<String, String> FIXED_EVERYWHERE =
      Map.of(
          "bootstrap.servers", "set KAFKA_BOOTSTRAP_SERVERS",
          "key.serializer", "the service's record format depends on it",
          "value.serializer", "the service's record format depends on it",
          "key.deserializer", "the service's record format depends on it",
          "value.deserializer", "the service's record format depends on it");

  public KafkaClientSettings {
    client = Map.copyOf(client);
    Map<Role, Map<String, String>> copy = new EnumMap<>(Role.class);
    for (Role role : Role.values()) {
      copy.put(role, Map.copyOf(roles.getOrDefault(role, Map.of())));
    }
    roles = Collections.unmodifiableMap(copy);
  }

  /**
   * The Kafka clients a service makes: its name, the roles it uses (only their variables are read)
   * and the properties it fixes per role, each with why (what of its guarantees rests on it).
   */
  public record Fixed(String service, Set<Role> used, Map<Role, Map<String, String>> reasons) {

    public Fixed {
      used = Set.copyOf(used);
      Map<Role, Map<String, String>> copy = new EnumMap<>(Role.class);
      reasons.forEach((role, keys) -> copy.put(role, Map.copyOf(keys)));
      reasons = Collections.unmodifiableMap(copy);
    }

    /**
     * {@code service}'s clients of {@code roles}, fixing nothing but the bootstrap servers and
     * formats.
     */
    public static Fixed of(String service, Role... roles) {
      return new Fixed(service, Set.of(roles), Map.of());
    }

    /** These fixed too: {@code keys} of {@code role}, because {@code why}. */
    public Fixed with(Role role, String why, Set<String> keys) {
      Map<Role, Map<String, String>> more = new EnumMap<>(Role.class);
      more.putAll(reasons);
      Map<String, String> ofRole = new HashMap<>(more.getOrDefault(role, Map.of()));
      keys.forEach(key -> ofRole.put(key, why));
      more.put(role, ofRole);
      return new Fixed(service, used, more);
    }

    /** Why {@code key} of {@code role} may not be set, or null when it may. */
    public String problem(Role role, String key) {
      String why = FIXED_EVERYWHERE.get(key);
      if (why == null) {
        why = reasons.getOrDefault(role, Map.of()).get(key);
      }
      return why == null
          ? null
          : "cannot be set: "
              + service
              + " fixes "
              + key
              + " of its "
              + role.lowerName()
              + " ("
              + why
              + ")";
    }

    /** Why {@code key} may not be set for every client, or null when it may. */
    public String clientProblem(String key) {
      for (Role role : Role.values()) {
        String problem = used.contains(role) ? problem(role, key) : null;
        if (problem != null) {
          return problem;
        }
      }
      return null;
    }
  }

  /**
   * Reads {@code KAFKA_CLIENT_*} and each role's variables, noting every fixed property set as a
   * problem.
   */
  public static KafkaClientSettings read(Settings s, String bootstrapServers, Fixed fixed) {
    Map<String, String> client =
        s.prefixed(
            CLIENT_PREFIX,
            "any Kafka client property, for every client the service makes:"
                + " the rest of the name in lower case with dots for underscores"
                + " (KAFKA_CLIENT_SASL_JAAS_CONFIG is sasl.jaas.config); what the service's"
                + " guarantees rest on is refused",
            fixed::clientProblem);
    Map<Role, Map<String, String>> roles = new EnumMap<>(Role.class);
    for (Role role : Role.values()) {
      if (!fixed.used().contains(role)) {
        continue;
      }
      roles.put(
          role,
          s.prefixed(
              role.variablePrefix,
              "any Kafka " + role.meaning + ", winning over KAFKA_CLIENT_*",
              key -> fixed.problem(role, key)));
    }
    return new KafkaClientSettings(bootstrapServers, client, roles);
  }

  /**
   * The keys the operator set, for the log (the values may be secrets and never appear): {@code
   * "security.protocol, sasl.jaas.config (every client); linger.ms (producer)"}, or {@code "none"}.
   */
  public String describeKeys() {
    List<String> parts = new ArrayList<>();
    if (!client.isEmpty()) {
      parts.add(String.join(", ", new TreeSet<>(client.keySet())) + " (every client)");
    }
    roles.forEach(
        (role, props) -> {
          if (!props.isEmpty()) {
            parts.add(
                String.join(", ", new TreeSet<>(props.keySet())) + " (" + role.lowerName() + ")");
          }
        });
    return parts.isEmpty() ? "none" : String.join("; ", parts);
  }

  /**
   * The properties of a {@code role} client: {@code serviceProperties}, the bootstrap servers, then
   * the operator's client and role properties (which cannot name a fixed property, see {@link
   * #read}).
   */
  public Map<String, Object> forRole(Role role, Map<String, ?> serviceProperties) {
    Map<String, Object> props = new HashMap<>(serviceProperties);
    props.put("bootstrap.servers", bootstrapServers);
    props.putAll(client);
    props.putAll(roles.get(role));
    return props;
  }

  public Map<String, Object> producer(Map<String, ?> serviceProperties) {
    return forRole(Role.PRODUCER, serviceProperties);
  }

  public Map<String, Object> consumer(Map<String, ?> serviceProperties) {
    return forRole(Role.CONSUMER, serviceProperties);
  }

  public Map<String, Object> admin(Map<String, ?> serviceProperties) {
    return forRole(Role.ADMIN, serviceProperties);
  }

  /** An admin client's properties with nothing of the service's own. */
  public Map<String, Object> admin() {
    return admin(Map.of());
  }

  /**
   * Kafka Streams' properties: {@code serviceProperties}, the bootstrap servers, the client
   * properties (Streams gives them to each of its clients) and {@code KAFKA_STREAMS_*} as they are,
   * and the producer, consumer and admin properties under Streams' {@code producer.}, {@code
   * consumer.} and {@code admin.} prefixes, which win over the unprefixed ones.
   */
  public Properties streams(Properties serviceProperties) {
    Properties props = new Properties();
    props.putAll(serviceProperties);
    props.put("bootstrap.servers", bootstrapServers);
    props.putAll(client);
    for (Role role : Role.values()) {
      roles.get(role).forEach((key, value) -> props.put(role.streamsPrefix + key, value));
    }
    return props;
  }
}
