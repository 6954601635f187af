package io.tallyhouse.ingest;

import io.tallyhouse.common.config.KafkaClientSettings;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.ingest.http.EndpointSettings;
import io.tallyhouse.ingest.publish.PublishSettings;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything gateway-ingest reads from its environment, each variable described for the
 * configuration reference.
 *
 * @param pipeline Kafka, the registry, the events topic and the dedup window, shared with
 *     usage-stream
 * @param http where the HTTP server listens
 * @param keysFile the key file holding the hashed ingest tokens
 * @param maxBodyBytes the largest request body, counted after gzip decoding
 * @param maxEventsPerRequest the most events one request's array may hold
 * @param publishTimeout how long Kafka may take to take a request's records, and again to
 *     acknowledge them
 * @param maxInFlightBytes request bytes (decoded) admitted and not yet answered; past it requests
 *     get 503 at once
 * @param kafka the brokers and the Kafka client properties from {@code KAFKA_CLIENT_*}, {@code
 *     KAFKA_PRODUCER_*} and {@code KAFKA_ADMIN_*} (for example {@code
 *     KAFKA_CLIENT_SECURITY_PROTOCOL} is {@code security.protocol}); the properties that carry the
 *     202 guarantee and the publish deadline cannot be set ({@link PublishSettings#CLIENTS})
 */
public record IngestConfig(
    PipelineSettings pipeline,
    PipelineSettings.Http http,
    Path keysFile,
    int maxBodyBytes,
    int maxEventsPerRequest,
    Duration publishTimeout,
    long maxInFlightBytes,
    KafkaClientSettings kafka) {

  private static final int DEFAULT_PORT = 8080;

  /**
   * Reads every variable, noting each broken one in {@code s} (ServiceMain lists them all at once).
   */
  public static IngestConfig read(Settings s) {
    PipelineSettings pipeline = PipelineSettings.read(s);
    return new IngestConfig(
        pipeline,
        PipelineSettings.http(s, DEFAULT_PORT),
        PipelineSettings.keysFile(s),
        s.number(
                "MAX_BODY_BYTES",
                "the largest request body in bytes, after gzip decoding; larger gets 413")
            .intOrElse(5 * 1024 * 1024, "5242880 (5 MiB)"),
        s.number("MAX_EVENTS_PER_REQUEST", "the most events one request's array may hold")
            .intOrElse(1000),
        s.number(
                "PUBLISH_TIMEOUT_MS",
                "the longest wait for Kafka to take a request's events, and again for"
                    + " their acknowledgement, before 503")
            .atMost(Integer.MAX_VALUE)
            .millisOrElse(Duration.ofSeconds(10)),
        s.number(
                "MAX_IN_FLIGHT_BYTES",
                "request bytes (decoded) being handled at once; past it a request gets 503")
            .orElse(32L * 1024 * 1024, "33554432 (32 MiB)"),
        pipeline.kafkaClients(s, PublishSettings.CLIENTS));
  }

  /** The publisher's part. */
  public PublishSettings publish() {
    return new PublishSettings(
        kafka,
        pipeline.eventsTopic(),
        pipeline.eventsPartitions(),
        publishTimeout,
        maxInFlightBytes);
  }

  /** The HTTP side's part. */
  public EndpointSettings endpoint() {
    return new EndpointSettings(
        http.host(), http.port(), maxBodyBytes, maxInFlightBytes, publishTimeout);
  }
}
