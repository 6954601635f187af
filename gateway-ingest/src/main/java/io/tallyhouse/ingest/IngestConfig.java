package io.tallyhouse.ingest;

import io.tallyhouse.common.config.EnvNumbers;
import io.tallyhouse.schemas.registry.RegistryConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Settings of gateway-ingest, from the environment; a bad number names its variable (EnvNumbers).
 *
 * @param publishTimeout how long a request may wait for Kafka's acknowledgement before it gets 503
 * @param maxInFlightBytes request bytes (decoded) accepted and not yet answered; beyond it requests get 503 at once
 * @param producerOverrides Kafka producer settings from {@code KAFKA_PRODUCER_*} variables (for example
 *     {@code KAFKA_PRODUCER_SECURITY_PROTOCOL} is {@code security.protocol}); the settings that carry the 202
 *     guarantee and the publish deadline cannot be overridden
 */
public record IngestConfig(
    String httpHost, int httpPort, String bootstrapServers, RegistryConfig registry, String eventsTopic,
    int eventsPartitions, Path keysFile, Duration dedupWindow, int maxBodyBytes, int maxEvents,
    Duration publishTimeout, long maxInFlightBytes, Map<String, String> producerOverrides) {

  private static final String PRODUCER_PREFIX = "KAFKA_PRODUCER_";
  /** What the 202 promise and the publish deadline rest on. */
  private static final Set<String> FIXED_PRODUCER_SETTINGS = Set.of("acks", "enable.idempotence",
      "delivery.timeout.ms", "request.timeout.ms", "max.block.ms", "bootstrap.servers", "key.serializer",
      "value.serializer", "transactional.id");

  public static IngestConfig fromEnv(Map<String, String> env) {
    return new IngestConfig(
        env.getOrDefault("HTTP_HOST", "127.0.0.1"),
        EnvNumbers.port(env, "HTTP_PORT", 8080),
        env.getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        RegistryConfig.fromEnv(env),
        env.getOrDefault("EVENTS_TOPIC", "usage-events"),
        EnvNumbers.positiveInt(env, "EVENTS_PARTITIONS", 6),
        Path.of(env.getOrDefault("KEYS_FILE", ".run/keys.jsonl")),
        Duration.ofDays(EnvNumbers.positiveLong(env, "DEDUP_WINDOW_DAYS", 35)),
        EnvNumbers.positiveInt(env, "MAX_BODY_BYTES", 5 * 1024 * 1024),
        EnvNumbers.positiveInt(env, "MAX_EVENTS_PER_REQUEST", 1000),
        Duration.ofMillis(EnvNumbers.positiveLong(env, "PUBLISH_TIMEOUT_MS", 10_000)),
        EnvNumbers.positiveLong(env, "MAX_IN_FLIGHT_BYTES", 32L * 1024 * 1024),
        producerOverrides(env));
  }

  private static Map<String, String> producerOverrides(Map<String, String> env) {
    Map<String, String> overrides = new TreeMap<>();
    env.forEach((name, value) -> {
      if (name.startsWith(PRODUCER_PREFIX) && name.length() > PRODUCER_PREFIX.length()) {
        String setting = name.substring(PRODUCER_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
        if (FIXED_PRODUCER_SETTINGS.contains(setting)) {
          throw new IllegalArgumentException(name + " cannot be set: gateway-ingest fixes " + setting
              + " (the 202 guarantee and PUBLISH_TIMEOUT_MS depend on it)");
        }
        overrides.put(setting, value);
      }
    });
    return Map.copyOf(overrides);
  }
}
