package io.tallyhouse.common.config;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.RegistryTruststore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * The settings several services read and must agree on, read in one place with one default and one
 * meaning each: gateway-ingest and usage-stream share Kafka, the registry, the events topic and the
 * dedup window; usage-stream and activity-query share ClickHouse (and usage-stream and reconcile
 * the raw table's retention); gateway-ingest and activity-query share the key file.
 *
 * @param dedupWindow how far back created_at may lie: ingest refuses older events, the stream
 *     recognises copies for that long, so every accepted event falls inside the window the stream
 *     removes duplicates in
 */
public record PipelineSettings(
    String bootstrapServers,
    RegistryConfig registry,
    String eventsTopic,
    int eventsPartitions,
    Duration dedupWindow) {

  public static final String DEFAULT_EVENTS_TOPIC = "usage-events";
  public static final Duration DEFAULT_DEDUP_WINDOW = Duration.ofDays(35);
  public static final String DEFAULT_DATABASE = "tallyhouse";

  /** The Kafka side: brokers, registry, events topic and dedup window. */
  public static PipelineSettings read(Settings settings) {
    return new PipelineSettings(
        settings
            .text("KAFKA_BOOTSTRAP_SERVERS", "Kafka brokers, host:port[,host:port...]")
            .orElse("127.0.0.1:9092"),
        registry(settings),
        settings
            .text("EVENTS_TOPIC", "the topic gateway-ingest publishes accepted events to, as Avro")
            .orElse(DEFAULT_EVENTS_TOPIC),
        settings
            .number(
                "EVENTS_PARTITIONS",
                "partitions of a pipeline topic the service creates; an existing topic keeps its own")
            .intOrElse(6),
        settings
            .number(
                "DEDUP_WINDOW_DAYS",
                "how old created_at may be; the same value for gateway-ingest"
                    + " (which refuses older events) and usage-stream (which recognises copies that long)")
            .daysOrElse(DEFAULT_DEDUP_WINDOW));
  }

  /**
   * The Kafka client properties the operator sets ({@code KAFKA_CLIENT_*}, {@code KAFKA_PRODUCER_*}
   * and the other roles'), refusing the properties the service {@code fixed}.
   */
  public KafkaClientSettings kafkaClients(Settings settings, KafkaClientSettings.Fixed fixed) {
    return KafkaClientSettings.read(settings, bootstrapServers, fixed);
  }

  /** The Confluent-compatible schema registry. */
  public static RegistryConfig registry(Settings settings) {
    String url =
        settings
            .text("SCHEMA_REGISTRY_URL", "base URL of the registry's Confluent API")
            .orElse("http://127.0.0.1:8085/apis/ccompat/v7");
    String user =
        settings
            .text("SCHEMA_REGISTRY_USER", "basic-auth user of the registry (none when unset)")
            .orNull();
    String password =
        settings.text("SCHEMA_REGISTRY_PASSWORD", "basic-auth password of the registry").orNull();
    Duration timeout =
        settings
            .number("SCHEMA_REGISTRY_TIMEOUT_MS", "connect and request timeout of the registry")
            .millisOrElse(Duration.ofSeconds(10));
    settings.retired("SCHEMA_REGISTRY_TIMEOUT", "set SCHEMA_REGISTRY_TIMEOUT_MS (milliseconds)");
    return new RegistryConfig(url, user, password, timeout, registryTruststore(settings));
  }

  private static RegistryTruststore registryTruststore(Settings settings) {
    Path location =
        settings
            .text(
                "SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION",
                "truststore an https registry's certificate is checked against (the JVM's default"
                    + " CAs when unset)")
            .readableFileOrNull();
    String password =
        settings
            .text(
                "SCHEMA_REGISTRY_SSL_TRUSTSTORE_PASSWORD",
                "password of the registry truststore (none for PEM)")
            .orNull();
    String type =
        settings
            .text(
                "SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE",
                "PKCS12, JKS, or PEM (a file of CA certificates)")
            .oneOf(RegistryTruststore.TYPES)
            .orElse("PKCS12");
    if (location == null) {
      return null;
    }
    RegistryTruststore truststore = new RegistryTruststore(location, password, type);
    try {
      truststore.sslContext();
    } catch (IllegalArgumentException e) {
      settings.problem("SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION", e.getMessage());
      return null;
    }
    return truststore;
  }

  /** ClickHouse, over its HTTP interface. */
  public static ClickHouseConfig clickHouse(Settings settings) {
    String url =
        settings.text("CLICKHOUSE_URL", "ClickHouse HTTP endpoint").orElse("http://127.0.0.1:8123");
    String user = settings.text("CLICKHOUSE_USER", "ClickHouse user").orElse("default");
    String password =
        settings.text("CLICKHOUSE_PASSWORD", "ClickHouse password (empty when unset)").orNull();
    String database =
        settings
            .text("CLICKHOUSE_DATABASE", "the database holding the Tallyhouse tables")
            .orElse(DEFAULT_DATABASE);
    if (!SqlLiteral.isIdentifier(database)) {
      settings.problem("CLICKHOUSE_DATABASE", SqlLiteral.IDENTIFIER_RULE);
      database = DEFAULT_DATABASE;
    }
    Path caCertificate =
        settings
            .text(
                "CLICKHOUSE_CA_CERT",
                "PEM file with the CA certificate(s) an https CLICKHOUSE_URL is checked against"
                    + " (the JVM's default CAs when unset)")
            .readableFileOrNull();
    return new ClickHouseConfig(url, user, password, database, null, caCertificate);
  }

  /**
   * Days of usage_events (the raw table) kept: usage-stream drops older day partitions, and
   * reconcile compares only the days still kept.
   */
  public static int rawRetentionDays(Settings settings) {
    return settings
        .number(
            "RAW_RETENTION_DAYS",
            "days of usage_events kept; usage-stream drops older day"
                + " partitions, reconcile compares only the days kept")
        .intOrElse(400);
  }

  /** The key file: ingest keys and management keys, stored as hashes. */
  public static Path keysFile(Settings settings) {
    return settings
        .text("KEYS_FILE", "the key file (JSON lines of key hashes), written by the keys tool")
        .pathOrElse(".run/keys.jsonl");
  }

  /**
   * Variables every service reads for itself, with its own value (not settings the services must
   * agree on).
   */
  public static final Set<String> PER_SERVICE = Set.of("HTTP_HOST", "HTTP_PORT");

  /** Where a service's HTTP server listens. */
  public record Http(String host, int port) {}

  /** {@code HTTP_HOST} and {@code HTTP_PORT}, the port defaulting to the service's own. */
  public static Http http(Settings settings, int defaultPort) {
    return new Http(
        settings.text("HTTP_HOST", "the address the HTTP server binds").orElse("127.0.0.1"),
        settings.port("HTTP_PORT", defaultPort, "the HTTP port (0 picks a free one)"));
  }
}
