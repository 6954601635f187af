package io.tallyhouse.query;

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
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * activity-query: {@code GET /api/v1/activity} (CONTRACT.md section 3) and {@code GET /api/v1/activity/export}
 * (section 4) over the ClickHouse rollups, {@code GET /openapi.yaml}, plus
 * {@code /health/live}, {@code /health/ready} (ClickHouse answers) and {@code /metrics}.
 */
public final class ActivityServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ActivityServer.class);

  static final String ROUTE = "/api/v1/activity";
  static final String EXPORT_ROUTE = "/api/v1/activity/export";
  static final String OPENAPI_ROUTE = "/openapi.yaml";
  static final String OPENAPI_RESOURCE = "activity-openapi.yaml";
  /** Rows read from ClickHouse per keyset page while streaming CSV. */
  static final int CSV_PAGE_ROWS = 10_000;
  /** {@link #CSV_PAGE_ROWS}, smaller only in tests that make a CSV span several pages. */
  static volatile int csvPageRows = CSV_PAGE_ROWS;
  static final String MIGRATIONS = "clickhouse/migrations";
  /** The {@code status} tag of an export whose CSV stream was cut after rows were sent (the connection is reset). */
  static final String ABORTED = "aborted";
  /** Long enough that oversized parameters get a 400 naming them instead of the server's bare 414. */
  private static final int MAX_INITIAL_LINE = 64 * 1024;

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
      .build();

  private final Vertx vertx;
  private final HttpServer server;
  private final ClickHouse clickHouse;
  private final CompletedDayCache cache;
  private final PrometheusMeterRegistry metrics;

  private ActivityServer(Vertx vertx, HttpServer server, ClickHouse clickHouse, CompletedDayCache cache,
      PrometheusMeterRegistry metrics) {
    this.vertx = vertx;
    this.server = server;
    this.clickHouse = clickHouse;
    this.cache = cache;
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
    CompletedDayCache cache = null;
    try {
      clickHouse.createDatabaseIfMissing();
      Migrations.apply(clickHouse, MIGRATIONS);

      PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
      cache = new CompletedDayCache(repository, clock, config.cacheMaxRows(), config.cachePollInterval(), metrics);
      cache.start();
      Handler handler = new Handler(new CredentialStore(config.keysFile()), cache,
          new ExportRepository(clickHouse, metrics), clock, metrics);
      byte[] openApi = openApi();
      vertx = Vertx.vertx();
      Router router = Router.router(vertx);
      router.get(ROUTE).handler(handler::handle);
      router.get(EXPORT_ROUTE).handler(handler::handleExport);
      router.get(OPENAPI_ROUTE).handler(ctx -> ctx.response()
          .putHeader("Content-Type", "application/yaml; charset=utf-8")
          .end(Buffer.buffer(openApi)));
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
      return new ActivityServer(vertx, server, clickHouse, cache, metrics);
    } catch (Exception e) {
      if (cache != null) {
        cache.close();
      }
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

  /** The OpenAPI document of this service, served as it is at {@value #OPENAPI_ROUTE}. */
  static byte[] openApi() throws IOException {
    try (InputStream in = ActivityServer.class.getClassLoader().getResourceAsStream(OPENAPI_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(OPENAPI_RESOURCE + " is missing from the classpath");
      }
      return in.readAllBytes();
    }
  }

  /** The port the server listens on (the chosen one when configured with 0). */
  public int port() {
    return server.actualPort();
  }

  /** The cache of completed days (tests drive its polls and race its loads). */
  CompletedDayCache cache() {
    return cache;
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
    cache.close();
    clickHouse.close();
    metrics.close();
  }

  /** The activity and export routes: auth, then parameters, then the query, all off the event loop. */
  private static final class Handler {

    private final CredentialStore credentials;
    /** Activity answers and api key checks, from memory where it may (else from ClickHouse). */
    private final CompletedDayCache activity;
    private final ExportRepository exports;
    private final Clock clock;
    private final PrometheusMeterRegistry metrics;

    Handler(CredentialStore credentials, CompletedDayCache activity, ExportRepository exports, Clock clock,
        PrometheusMeterRegistry metrics) {
      this.credentials = credentials;
      this.activity = activity;
      this.exports = exports;
      this.clock = clock;
      this.metrics = metrics;
    }

    void handle(RoutingContext ctx) {
      time(ctx, ROUTE);
      String authorization = ctx.request().getHeader("Authorization");
      Map<String, List<String>> params = params(ctx);
      // Not ordered: requests must not queue behind each other on the context.
      ctx.vertx().executeBlocking(() -> answer(authorization, params), false)
          .onComplete(result -> reply(ctx, result.succeeded() ? result.result() : null, result.cause()));
    }

    void handleExport(RoutingContext ctx) {
      RequestTimer timer = time(ctx, EXPORT_ROUTE);
      String authorization = ctx.request().getHeader("Authorization");
      Map<String, List<String>> params = params(ctx);
      Context context = ctx.vertx().getOrCreateContext();
      CsvStream stream = new CsvStream(ctx.response(), context);
      ctx.vertx().executeBlocking(() -> export(authorization, params, stream), false)
          .onComplete(result -> {
            if (result.succeeded() && result.result() == null) {
              return; // the CSV stream ended the response itself
            }
            if (stream.started()) {
              // Rows were already sent: closing the connection without the last chunk is the only way left to
              // tell the client that the file is not complete. A reset response never reaches the end handler,
              // so it is counted here, and not as the 200 its status line said.
              LOG.error("export stream failed after it started; connection reset so the client sees a cut transfer",
                  result.cause());
              timer.stop(ABORTED);
              ctx.response().reset();
              return;
            }
            reply(ctx, result.succeeded() ? result.result() : null, result.cause());
          });
    }

    /** Starts the request timer; it stops when the response ends, tagged with the status sent. */
    private RequestTimer time(RoutingContext ctx, String route) {
      RequestTimer timer = new RequestTimer(metrics, route);
      ctx.addEndHandler(done -> timer.stop(Integer.toString(ctx.response().getStatusCode())));
      return timer;
    }

    /** The decoded query string, or null when a percent-escape is malformed (answered 400 after auth). */
    private static Map<String, List<String>> params(RoutingContext ctx) {
      try {
        return QueryString.parse(ctx.request().query());
      } catch (IllegalArgumentException e) {
        return null;
      }
    }

    private static void reply(RoutingContext ctx, Answer answer, Throwable failure) {
      if (ctx.response().closed()) {
        return;
      }
      if (answer != null) {
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
        LOG.error("activity request failed", failure);
        ErrorEnvelope.send(ctx, 500, "Internal server error", null);
      }
    }

    /** A status with either the JSON body (200) or the error message (anything else). */
    private record Answer(int status, String body) {}

    /** The caller's account, or the 401/403 answer. */
    private Object account(String authorization) {
      Optional<Credential> credential = credentials.authenticate(bearer(authorization));
      if (credential.isEmpty()) {
        return new Answer(401, authorization == null ? "Missing API key" : "Invalid or revoked API key");
      }
      if (credential.get().kind() != CredentialKind.MANAGEMENT) {
        return new Answer(403, "A management key is required");
      }
      return credential.get().accountId();
    }

    /** The caller's account and parsed request, or the answer refusing them. */
    private record Checked<R>(String account, R request, Answer refusal) {
      static <R> Checked<R> refuse(int status, String message) {
        return new Checked<>(null, null, new Answer(status, message));
      }
    }

    /**
     * The checks both routes make, in the contract's order: key (401/403), query string and parameters (400), then
     * whether the account ever reported the api_key_hash filter (404).
     */
    private <R> Checked<R> check(String authorization, Map<String, List<String>> params,
        BiFunction<Map<String, List<String>>, LocalDate, R> parser, Function<R, Optional<String>> apiKeyHash) {
      Object who = account(authorization);
      if (who instanceof Answer refused) {
        return new Checked<>(null, null, refused);
      }
      String account = (String) who;
      if (params == null) {
        return Checked.refuse(400, "Malformed query string");
      }
      R request;
      try {
        request = parser.apply(params, LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
      } catch (InvalidParameterException e) {
        return Checked.refuse(400, e.getMessage());
      }
      Optional<String> hash = apiKeyHash.apply(request);
      if (hash.isPresent() && !activity.apiKeyKnown(account, hash.get())) {
        return Checked.refuse(404, "Parameter api_key_hash: no such api key for this account");
      }
      return new Checked<>(account, request, null);
    }

    private Answer answer(String authorization, Map<String, List<String>> params) {
      Checked<ActivityRequest> checked = check(authorization, params, ActivityRequest::parse, ActivityRequest::apiKeyHash);
      if (checked.refusal() != null) {
        return checked.refusal();
      }
      String account = checked.account();
      ActivityRequest request = checked.request();
      return new Answer(200, "{\"data\":[" + activity.activityJson(account, request) + "]}");
    }

    /** The JSON page or error answer; null once a CSV stream has ended the response itself. */
    private Answer export(String authorization, Map<String, List<String>> params, CsvStream stream)
        throws Exception {
      Checked<ExportRequest> checked = check(authorization, params, ExportRequest::parse, ExportRequest::apiKeyHash);
      if (checked.refusal() != null) {
        return checked.refusal();
      }
      String account = checked.account();
      ExportRequest request = checked.request();
      if (request.format() == ExportRequest.Format.CSV) {
        streamCsv(account, request, stream);
        return null;
      }
      // One row more than asked says whether a next page exists without an empty last page.
      List<ExportRow> rows = exports.page(account, request, request.limit() + 1);
      ObjectNode root = JSON.createObjectNode();
      ArrayNode data = root.putArray("data");
      for (int i = 0; i < Math.min(rows.size(), request.limit()); i++) {
        rows.get(i).writeTo(data.addObject());
      }
      if (rows.size() > request.limit()) {
        root.put("next_cursor", ExportCursor.encode(rows.get(request.limit() - 1).values(), request));
      } else {
        root.putNull("next_cursor");
      }
      return new Answer(200, JSON.writeValueAsString(root));
    }

    /**
     * Every row, read from ClickHouse in keyset pages of {@value #CSV_PAGE_ROWS} and written page by page as
     * chunks, waiting for the client when its write queue is full. The first page is read before the status is
     * sent, so a ClickHouse failure up front is still a clean 500.
     */
    private void streamCsv(String account, ExportRequest request, CsvStream stream) throws Exception {
      int pageRows = csvPageRows;
      List<ExportRow> page = exports.page(account, request, pageRows);
      stream.start(ExportRow.csvHeader(request.groupColumns()));
      while (true) {
        StringBuilder chunk = new StringBuilder(page.size() * 160);
        for (ExportRow row : page) {
          row.appendCsv(chunk);
        }
        if (!chunk.isEmpty()) {
          stream.write(chunk.toString());
        }
        if (page.size() < pageRows) {
          break;
        }
        request = request.after(page.get(page.size() - 1).values());
        page = exports.page(account, request, pageRows);
      }
      stream.end();
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

  /** The {@code activity_requests} timer of one request, stopped once (by whichever comes first). */
  private static final class RequestTimer {

    private final PrometheusMeterRegistry metrics;
    private final String route;
    private final Timer.Sample sample;
    private final AtomicBoolean stopped = new AtomicBoolean();

    RequestTimer(PrometheusMeterRegistry metrics, String route) {
      this.metrics = metrics;
      this.route = route;
      this.sample = Timer.start(metrics);
    }

    void stop(String status) {
      if (stopped.compareAndSet(false, true)) {
        sample.stop(Timer.builder("activity_requests")
            .description("GET /api/v1/activity and /api/v1/activity/export answers by status")
            .tag("route", route)
            .tag("status", status)
            .register(metrics));
      }
    }
  }

  /**
   * A chunked CSV response written from a worker thread: each write runs on the request's context, and the
   * worker waits while the client's write queue is full, so at most about one page is buffered.
   */
  private static final class CsvStream {

    private static final long WAIT_SECONDS = 300;

    private final HttpServerResponse response;
    private final Context context;
    private final AtomicBoolean started = new AtomicBoolean();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    CsvStream(HttpServerResponse response, Context context) {
      this.response = response;
      this.context = context;
    }

    boolean started() {
      return started.get();
    }

    void start(String header) throws Exception {
      started.set(true);
      onContext(() -> {
        response.closeHandler(v -> closed.completeExceptionally(new IOException("client went away")));
        response.setStatusCode(200)
            .setChunked(true)
            .putHeader("Content-Type", "text/csv; charset=utf-8")
            .putHeader("Content-Disposition", "attachment; filename=\"activity-export.csv\"")
            .putHeader("Cache-Control", "no-store");
        response.write(header);
      });
    }

    void write(String chunk) throws Exception {
      CompletableFuture<Void> ready = new CompletableFuture<>();
      context.runOnContext(v -> {
        if (response.closed()) {
          ready.completeExceptionally(new IOException("client went away"));
          return;
        }
        response.write(chunk);
        if (response.writeQueueFull()) {
          response.drainHandler(d -> ready.complete(null));
        } else {
          ready.complete(null);
        }
      });
      CompletableFuture.anyOf(ready, closed).get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    void end() throws Exception {
      onContext(response::end);
    }

    private void onContext(Runnable action) throws Exception {
      CompletableFuture<Void> done = new CompletableFuture<>();
      context.runOnContext(v -> {
        try {
          if (response.closed()) {
            throw new IOException("client went away");
          }
          action.run();
          done.complete(null);
        } catch (Throwable t) {
          done.completeExceptionally(t);
        }
      });
      done.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }
  }
}
