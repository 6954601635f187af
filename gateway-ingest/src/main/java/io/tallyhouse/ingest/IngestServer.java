package io.tallyhouse.ingest;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.http.IngestHttpServer;
import io.tallyhouse.ingest.publish.EventPublisher;
import io.tallyhouse.ingest.validation.EventValidator;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway-ingest process: builds its parts from an {@link IngestConfig}, starts them in order
 * (topic, schema, port) and stops them in reverse, so every request that got 202 is on the topic
 * when it exits.
 */
public final class IngestServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(IngestServer.class);

  private final Vertx vertx;
  private final EventPublisher publisher;
  private IngestHttpServer http;

  private IngestServer(Vertx vertx, EventPublisher publisher) {
    this.vertx = vertx;
    this.publisher = publisher;
  }

  /**
   * Runs the service from the environment until SIGTERM or Ctrl-C ({@code --check-config} only
   * validates it).
   */
  public static void main(String[] args) throws Exception {
    ServiceMain.run(
        "gateway-ingest", args, IngestConfig::read, config -> start(config, Clock.systemUTC()));
  }

  /** Prepares the topic and schema, then listens; returns once the port is bound. */
  public static IngestServer start(IngestConfig config, Clock clock) {
    PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    EventPublisher publisher =
        new EventPublisher(
            config.publish(), new SchemaRegistryClient(config.pipeline().registry()));
    IngestServer ingest = new IngestServer(Vertx.vertx(), publisher);
    try {
      ingest.publisher.prepare();
      ingest.publisher.publishSchema();
      ingest.http =
          IngestHttpServer.listen(
              ingest.vertx,
              config.endpoint(),
              new CredentialStore(config.keysFile(), metrics),
              new EventValidator(
                  clock, config.pipeline().dedupWindow(), config.maxEventsPerRequest()),
              ingest.publisher,
              metrics);
    } catch (RuntimeException e) {
      ingest.close();
      throw e;
    }
    LOG.info(
        "gateway-ingest listening on {}:{}, topic {}, Kafka client properties set: {}",
        config.http().host(),
        ingest.port(),
        config.pipeline().eventsTopic(),
        config.kafka().describeKeys());
    return ingest;
  }

  public int port() {
    return http.port();
  }

  /**
   * Graceful stop: the HTTP side drains and closes its port, then the producer flushes, so every
   * request that got 202 is on the topic.
   */
  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
    publisher.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("closing Vert.x failed", e);
    }
    LOG.info("gateway-ingest stopped");
  }
}
