package io.tallyhouse.ingest;

import io.tallyhouse.common.config.EnvNumbers;
import io.tallyhouse.schemas.registry.RegistryConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Settings of gateway-ingest, from the environment; a bad number names its variable (EnvNumbers).
 *
 * @param publishTimeout how long a request may wait for Kafka's acknowledgement before it gets 503
 * @param maxInFlightBytes request bytes accepted and not yet answered; beyond it requests get 503 at once
 */
public record IngestConfig(
    String httpHost, int httpPort, String bootstrapServers, RegistryConfig registry, String eventsTopic,
    int eventsPartitions, Path keysFile, Duration dedupWindow, int maxBodyBytes, int maxEvents,
    Duration publishTimeout, long maxInFlightBytes) {

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
        EnvNumbers.positiveLong(env, "MAX_IN_FLIGHT_BYTES", 32L * 1024 * 1024));
  }
}
