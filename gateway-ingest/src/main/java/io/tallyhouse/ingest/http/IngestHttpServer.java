package io.tallyhouse.ingest.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.http.ErrorEnvelope;
import io.tallyhouse.common.http.EventLoopWatchdog;
import io.tallyhouse.common.http.HttpServers;
import io.tallyhouse.common.http.OpsRoutes;
import io.tallyhouse.ingest.publish.EventPublisher;
import io.tallyhouse.ingest.validation.EventValidator;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routes of gateway-ingest on one HTTP server per core, and their stop: requests in flight are
 * answered before the port closes.
 */
public final class IngestHttpServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(IngestHttpServer.class);

  /** The OpenAPI document of this API, a classpath resource. */
  public static final String OPENAPI = "/openapi.yaml";

  private final EndpointSettings settings;
  private final Admission admission;
  private final List<HttpServer> servers;

  private IngestHttpServer(
      EndpointSettings settings, Admission admission, List<HttpServer> servers) {
    this.settings = settings;
    this.admission = admission;
    this.servers = servers;
  }

  /**
   * Mounts the routes and listens; returns once the port is bound.
   *
   * @param ready whether the service can accept events ({@code /health/ready})
   */
  public static IngestHttpServer listen(
      Vertx vertx,
      EndpointSettings settings,
      CredentialStore keys,
      EventValidator validator,
      EventPublisher publisher,
      PrometheusMeterRegistry registry,
      BooleanSupplier ready) {
    Admission admission = new Admission(settings.maxInFlightBytes());
    IngestMetrics metrics = new IngestMetrics(registry, admission);
    Answers answers = new Answers(metrics, settings.maxBodyBytes());
    IngestAuthorization authorization = new IngestAuthorization(keys);

    Router router = Router.router(vertx);
    OpsRoutes.mount(router, registry, ready, EventLoopWatchdog.start(vertx));
    HttpServers.mountOpenApi(router, IngestHttpServer.class, OPENAPI);
    router.post("/v1/events").handler(new HeaderCheck(authorization, answers));
    router
        .post("/v1/events")
        .handler(BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes()));
    router
        .post("/v1/events")
        .handler(
            new EventsHandler(
                vertx, settings, admission, validator, authorization, publisher, answers, metrics));
    router.route().failureHandler(answers::failure);
    router.route().last().handler(ctx -> ErrorEnvelope.send(ctx, 404, "Not found", null));

    HttpServerOptions options =
        new HttpServerOptions()
            .setHost(settings.host())
            .setPort(settings.port())
            // gzip is decoded by this service (GzipBody), not by Netty: Netty would go on inflating
            // a gzip bomb to its
            // end while draining the refused request, and skips decoding after a cleartext HTTP/2
            // upgrade.
            .setDecompressionSupported(false)
            .setHttp2ClearTextEnabled(false);
    try {
      return new IngestHttpServer(
          settings, admission, HttpServers.listenOnEveryCore(vertx, options, router));
    } catch (Exception e) {
      throw new IllegalStateException(
          "gateway-ingest cannot listen on " + settings.host() + ":" + settings.port(), e);
    }
  }

  public int port() {
    return servers.get(0).actualPort();
  }

  /**
   * New requests get 503, requests in flight finish (within the publish timeout and a margin), the
   * port closes.
   */
  @Override
  public void close() {
    admission.drain(settings.publishTimeout().plusSeconds(2));
    for (HttpServer server : servers) {
      try {
        server
            .shutdown(5, TimeUnit.SECONDS)
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("closing the HTTP server failed", e);
      }
    }
  }
}
