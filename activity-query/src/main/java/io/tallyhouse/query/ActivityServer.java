package io.tallyhouse.query;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.auth.Credential;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.http.ErrorEnvelope;
import io.tallyhouse.common.http.OpsRoutes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * activity-query: {@code GET /api/v1/activity} (CONTRACT.md section 3) over the ClickHouse rollups, plus
 * {@code /health/live}, {@code /health/ready} (ClickHouse answers) and {@code /metrics}.
 */
public final class ActivityServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ActivityServer.class);

  static final String ROUTE = "/api/v1/activity";
  static final String MIGRATIONS = "clickhouse/migrations";
  /** Long enough that oversized parameters get a 400 naming them instead of the server's bare 414. */
  private static final int MAX_INITIAL_LINE = 64 * 1024;

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
      .build();

  private final Vertx vertx;
  private final HttpServer server;
  private final ClickHouse clickHouse;
  private final PrometheusMeterRegistry metrics;

  private ActivityServer(Vertx vertx, HttpServer server, ClickHouse clickHouse, PrometheusMeterRegistry metrics) {
    this.vertx = vertx;
    this.server = server;
    this.clickHouse = clickHouse;
    this.metrics = metrics;
  }

  public static void main(String[] args) {
    ActivityServer server = start(QueryConfig.fromEnv(System.getenv()), Clock.systemUTC());
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "activity-query-stop"));
    LOG.info("activity-query listening on port {}", server.port());
  }

  /**
   * Applies the ClickHouse migrations (so this service may start before usage-stream), then listens;
   * returns once the server accepts connections.
   *
   * @param clock decides which UTC days are completed
   */
  public static ActivityServer start(QueryConfig config, Clock clock) {
    ClickHouse clickHouse = new ClickHouse(config.clickHouse());
    Vertx vertx = null;
    try {
      clickHouse.createDatabaseIfMissing();
      Migrations.apply(clickHouse, MIGRATIONS);

      PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      Handler handler = new Handler(new CredentialStore(config.keysFile()), new ActivityRepository(clickHouse),
          clock, metrics);
      vertx = Vertx.vertx();
      Router router = Router.router(vertx);
      router.get(ROUTE).handler(handler::handle);
      OpsRoutes.mount(router, metrics, clickHouse::ping);
      router.errorHandler(404, ctx -> ErrorEnvelope.send(ctx, 404, "Not found", null));
      router.errorHandler(405, ctx -> ErrorEnvelope.send(ctx, 405, "Method not allowed", null));
      router.errorHandler(500, ctx -> {
        LOG.error("unhandled failure on {}", ctx.request().path(), ctx.failure());
        ErrorEnvelope.send(ctx, 500, "Internal server error", null);
      });

      HttpServer server = vertx.createHttpServer(new HttpServerOptions()
              .setHost(config.host())
              .setPort(config.port())
              .setMaxInitialLineLength(MAX_INITIAL_LINE))
          .requestHandler(router);
      server = server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      LOG.info("activity-query listening on {}:{} (ClickHouse database {})", config.host(), server.actualPort(),
          clickHouse.database());
      return new ActivityServer(vertx, server, clickHouse, metrics);
    } catch (Exception e) {
      if (vertx != null) {
        vertx.close();
      }
      clickHouse.close();
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw cause instanceof RuntimeException r ? r : new IllegalStateException("activity-query cannot start", cause);
    }
  }

  /** The port the server listens on (the chosen one when configured with 0). */
  public int port() {
    return server.actualPort();
  }

  @Override
  public void close() {
    try {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("HTTP server did not close cleanly", e);
    }
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("Vert.x did not close cleanly", e);
    }
    clickHouse.close();
    metrics.close();
  }

  /** The activity route: auth, then parameters, then the query, all off the event loop. */
  private static final class Handler {

    private final CredentialStore credentials;
    private final ActivityRepository repository;
    private final Clock clock;
    private final PrometheusMeterRegistry metrics;

    Handler(CredentialStore credentials, ActivityRepository repository, Clock clock, PrometheusMeterRegistry metrics) {
      this.credentials = credentials;
      this.repository = repository;
      this.clock = clock;
      this.metrics = metrics;
    }

    void handle(RoutingContext ctx) {
      Timer.Sample sample = Timer.start(metrics);
      ctx.addEndHandler(done -> sample.stop(Timer.builder("activity_requests")
          .description("GET /api/v1/activity answers by status")
          .tag("route", ROUTE)
          .tag("status", Integer.toString(ctx.response().getStatusCode()))
          .register(metrics)));
      String authorization = ctx.request().getHeader("Authorization");
      Map<String, List<String>> params;
      try {
        params = QueryString.parse(ctx.request().query());
      } catch (IllegalArgumentException e) {
        // A malformed percent-escape cannot be decoded into any value.
        params = null;
      }
      Map<String, List<String>> decoded = params;
      // Not ordered: requests must not queue behind each other on the context.
      ctx.vertx().executeBlocking(() -> answer(authorization, decoded), false).onComplete(result -> {
        if (ctx.response().closed()) {
          return;
        }
        if (result.succeeded()) {
          Answer answer = result.result();
          // One account's usage: no shared cache may keep it.
          ctx.response().putHeader("Cache-Control", "no-store");
          if (answer.status() == 200) {
            ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(answer.body());
          } else {
            if (answer.status() == 401) {
              ctx.response().putHeader("WWW-Authenticate", "Bearer");
            }
            ErrorEnvelope.send(ctx, answer.status(), answer.body(), null);
          }
        } else {
          LOG.error("activity request failed", result.cause());
          ErrorEnvelope.send(ctx, 500, "Internal server error", null);
        }
      });
    }

    /** A status with either the JSON body (200) or the error message (anything else). */
    private record Answer(int status, String body) {}

    private Answer answer(String authorization, Map<String, List<String>> params) throws JsonProcessingException {
      Optional<Credential> credential = credentials.authenticate(bearer(authorization));
      if (credential.isEmpty()) {
        return new Answer(401, authorization == null ? "Missing API key" : "Invalid or revoked API key");
      }
      if (credential.get().kind() != CredentialKind.MANAGEMENT) {
        return new Answer(403, "A management key is required");
      }
      String account = credential.get().accountId();
      if (params == null) {
        return new Answer(400, "Malformed query string");
      }
      ActivityRequest request;
      try {
        request = ActivityRequest.parse(params, LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
      } catch (InvalidParameterException e) {
        return new Answer(400, e.getMessage());
      }
      if (request.apiKeyHash().isPresent() && !repository.apiKeyKnown(account, request.apiKeyHash().get())) {
        return new Answer(404, "Parameter api_key_hash: no such api key for this account");
      }
      List<ActivityItem> items = repository.activity(account, request);
      ObjectNode root = JSON.createObjectNode();
      ArrayNode data = root.putArray("data");
      for (ActivityItem item : items) {
        item.writeTo(data.addObject(), request.groupByUser(), request.groupByApiKey());
      }
      return new Answer(200, JSON.writeValueAsString(root));
    }

    /** The secret of {@code Authorization: Bearer <secret>}, or null. */
    private static String bearer(String header) {
      if (header == null) {
        return null;
      }
      String value = header.trim();
      if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
        return null;
      }
      String secret = value.substring(7).trim();
      return secret.isEmpty() ? null : secret;
    }
  }
}
