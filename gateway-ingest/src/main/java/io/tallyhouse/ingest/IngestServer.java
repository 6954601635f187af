package io.tallyhouse.ingest;

import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.metrics.DependencyChecks;
import io.tallyhouse.common.metrics.ServiceMetrics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.http.IngestHttpServer;
import io.tallyhouse.ingest.publish.EventPublisher;
import io.tallyhouse.ingest.validation.EventValidator;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.Map;
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
  private final ServiceMetrics metrics;
  private final DependencyChecks dependencies;
  private IngestHttpServer http;

  private IngestServer(
      Vertx vertx,
      EventPublisher publisher,
      ServiceMetrics metrics,
      DependencyChecks dependencies) {
    this.vertx = vertx;
    this.publisher = publisher;
    this.metrics = metrics;
    this.dependencies = dependencies;
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
    ServiceMetrics metrics = ServiceMetrics.create("gateway-ingest");
    SchemaRegistryClient registry = new SchemaRegistryClient(config.pipeline().registry());
    EventPublisher publisher = new EventPublisher(config.publish(), registry);
    // Readiness checks Kafka; the registry's state is what its last call said (no extra request).
    DependencyChecks dependencies =
        new DependencyChecks(
            metrics.registry(),
            Map.of(
                DependencyChecks.KAFKA,
                publisher::ready,
                DependencyChecks.SCHEMA_REGISTRY,
                () -> registry.trouble().isEmpty()));
    IngestServer ingest = new IngestServer(Vertx.vertx(), publisher, metrics, dependencies);
    try {
      dependencies.start();
      ingest.publisher.prepare();
      ingest.publisher.publishSchema();
      ingest.http =
          IngestHttpServer.listen(
              ingest.vertx,
              config.endpoint(),
              new CredentialStore(config.keysFile(), metrics.registry()),
              new EventValidator(
                  clock, config.pipeline().dedupWindow(), config.maxEventsPerRequest()),
              ingest.publisher,
              metrics.registry(),
              () -> dependencies.check(DependencyChecks.KAFKA));
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
    dependencies.close();
    metrics.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("closing Vert.x failed", e);
    }
    LOG.info("gateway-ingest stopped");
  }
}
