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
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.http.ErrorEnvelope;
import io.tallyhouse.common.http.EventLoopWatchdog;
import io.tallyhouse.common.http.OpsRoutes;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Function;
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
  /** The {@code status} tag of an export whose CSV stream was cut after rows were sent (the connection is reset). */
  static final String ABORTED = "aborted";
  /**
   * Threads that run exports (their checks and keyset pages), apart from the default worker pool, which is left to
   * activity answers, key checks and readiness. So at most this many export statements run at once, holding at most as
   * many of the ClickHouse client's 10 connections; a CSV export waiting for its client holds none of them.
   */
  static final int EXPORT_WORKERS = 4;
  /** Long enough that oversized parameters get a 400 naming them instead of the server's bare 414. */
  private static final int MAX_INITIAL_LINE = 64 * 1024;

  private static final byte[] DATA_START = "{\"data\":[".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA_END = "]}".getBytes(StandardCharsets.US_ASCII);

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
      .build();

  private final Vertx vertx;
  /** One per core, sharing the port. */
  private final List<HttpServer> servers;
  private final ClickHouse clickHouse;
  private final CompletedDayCache cache;
  private final PrometheusMeterRegistry metrics;

  private ActivityServer(Vertx vertx, List<HttpServer> servers, ClickHouse clickHouse, CompletedDayCache cache,
      PrometheusMeterRegistry metrics) {
    this.vertx = vertx;
    this.servers = servers;
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
      Migrations.apply(clickHouse);

      PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
      cache = new CompletedDayCache(repository, clock, config.cacheMaxBytes(), config.cachePollInterval(), metrics);
      cache.start();
      vertx = Vertx.vertx();
      Handler handler = new Handler(new CredentialStore(config.keysFile(), metrics), cache,
          new ExportRepository(clickHouse, metrics), clock, metrics, config.activityMaxItems(),
          new ExportSlots(config.exports(), metrics),
          vertx.createSharedWorkerExecutor("activity-export", EXPORT_WORKERS), config.exports().stallTimeout());
      byte[] openApi = openApi();
      Router router = Router.router(vertx);
      router.get(ROUTE).handler(handler::handle);
      router.get(EXPORT_ROUTE).handler(handler::handleExport);
      router.get(OPENAPI_ROUTE).handler(ctx -> ctx.response()
          .putHeader("Content-Type", "application/yaml; charset=utf-8")
          .end(Buffer.buffer(openApi)));
      OpsRoutes.mount(router, metrics, clickHouse::ping, EventLoopWatchdog.start(vertx));
      router.errorHandler(404, ctx -> ErrorEnvelope.send(ctx, 404, "Not found", null));
      router.errorHandler(405, ctx -> ErrorEnvelope.send(ctx, 405, "Method not allowed", null));
      router.errorHandler(500, ctx -> {
        LOG.error("unhandled failure on {}", ctx.request().path(), ctx.failure());
        ErrorEnvelope.send(ctx, 500, "Internal server error", null);
      });

      HttpServerOptions options = new HttpServerOptions()
          .setHost(config.host())
          .setPort(config.port())
          .setMaxInitialLineLength(MAX_INITIAL_LINE);
      // Port 0 would give every instance its own random port; a negative port is Vert.x's shared random port.
      if (options.getPort() == 0) {
        options.setPort(-1);
      }
      // A server made outside a verticle runs on one event loop, and cache hits are answered there: one server per
      // core on the same port lets Vert.x spread the connections over as many event loops.
      List<HttpServer> servers = new ArrayList<>();
      for (int i = 0; i < Math.max(1, Runtime.getRuntime().availableProcessors()); i++) {
        servers.add(vertx.createHttpServer(options).requestHandler(router).listen()
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
      }
      LOG.info("activity-query listening on {}:{} (ClickHouse database {})", config.host(),
          servers.get(0).actualPort(), clickHouse.database());
      return new ActivityServer(vertx, servers, clickHouse, cache, metrics);
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
    return servers.get(0).actualPort();
  }

  /** The Vert.x instance (tests occupy its worker threads). */
  Vertx vertx() {
    return vertx;
  }

  /** The cache of completed days (tests drive its polls and race its loads). */
  CompletedDayCache cache() {
    return cache;
  }

  @Override
  public void close() {
    for (HttpServer server : servers) {
      try {
        server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        LOG.warn("HTTP server did not close cleanly", e);
      }
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

  /**
   * The activity and export routes: auth, then parameters, then the query; off the event loop, except activity answers
   * that are all in memory.
   */
  private static final class Handler {

    /** SHA-256 of management keys remembered as valid; the set starts over when full. */
    private static final int MAX_REMEMBERED_KEYS = 100_000;
    private static final int ANSWER_CAPACITY = 16 * 1024;
    /** An event loop's answer array larger than this is not kept for the next answer. */
    private static final int MAX_REUSED_CAPACITY = 8 * 1024 * 1024;

    private final CredentialStore credentials;
    /** SHA-256 of the management keys last found valid: only their requests are tried on the event loop. */
    private final Set<String> validManagementKeys = ConcurrentHashMap.newKeySet();
    /** Each event loop's array for the answers it makes from memory. */
    private final ThreadLocal<JsonBytes> answerBuffer = ThreadLocal.withInitial(() -> new JsonBytes(ANSWER_CAPACITY));
    /** Activity answers and api key checks, from memory where it may (else from ClickHouse). */
    private final CompletedDayCache activity;
    private final ExportRepository exports;
    private final Clock clock;
    private final PrometheusMeterRegistry metrics;
    private final int maxItems;
    private final ExportSlots exportSlots;
    private final WorkerExecutor exportWorkers;
    private final Duration stallTimeout;

    Handler(CredentialStore credentials, CompletedDayCache activity, ExportRepository exports, Clock clock,
        PrometheusMeterRegistry metrics, int maxItems, ExportSlots exportSlots, WorkerExecutor exportWorkers,
        Duration stallTimeout) {
      this.credentials = credentials;
      this.activity = activity;
      this.exports = exports;
      this.clock = clock;
      this.metrics = metrics;
      this.maxItems = maxItems;
      this.exportSlots = exportSlots;
      this.exportWorkers = exportWorkers;
      this.stallTimeout = stallTimeout;
    }

    void handle(RoutingContext ctx) {
      time(ctx, ROUTE);
      String authorization = ctx.request().getHeader("Authorization");
      Map<String, List<String>> params = params(ctx);
      JsonBytes fromMemory;
      try {
        fromMemory = answerFromMemory(authorization, params);
      } catch (InvalidParameterException e) {
        reply(ctx, new Answer(400, e.getMessage()), null); // the answer is too large
        return;
      } catch (RuntimeException e) {
        reply(ctx, null, e);
        return;
      }
      if (fromMemory != null) {
        reply(ctx, Answer.json(fromMemory), null);
        return;
      }
      // Not ordered: requests must not queue behind each other on the context.
      ctx.vertx().executeBlocking(() -> answer(authorization, params), false)
          .onComplete(result -> reply(ctx, result.succeeded() ? result.result() : null, result.cause()));
    }

    /** On the export workers; a CSV export then goes on by events on this event loop (see {@link CsvExport}). */
    void handleExport(RoutingContext ctx) {
      RequestTimer timer = time(ctx, EXPORT_ROUTE);
      String authorization = ctx.request().getHeader("Authorization");
      Map<String, List<String>> params = params(ctx);
      exportWorkers.executeBlocking(() -> export(authorization, params), false)
          .onComplete(result -> {
            Exported exported = result.succeeded() ? result.result() : null;
            if (exported != null && exported.csv() != null) {
              CsvStart csv = exported.csv();
              new CsvExport(ctx.vertx(), ctx.response(),
                  next -> exportWorkers.executeBlocking(() -> csvPage(csv.account(), next, false), false),
                  csv.slot(), stallTimeout, () -> timer.stop(ABORTED)).start(csv.first());
              return;
            }
            reply(ctx, exported == null ? null : exported.answer(), result.cause());
          });
    }

    /**
     * Starts the request timer; it stops when the response ends, tagged with the status sent, or {@value #ABORTED} when
     * the connection failed first (a client gone in the middle of a CSV export).
     */
    private RequestTimer time(RoutingContext ctx, String route) {
      RequestTimer timer = new RequestTimer(metrics, route);
      ctx.addEndHandler(done -> timer.stop(done.failed() ? ABORTED : Integer.toString(ctx.response().getStatusCode())));
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
        if (answer.json() != null) {
          JsonBytes json = answer.json();
          ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json")
              .end(Buffer.buffer(json.length()).appendBytes(json.array(), 0, json.length()));
        } else if (answer.status() == 200) {
          ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(answer.body());
        } else {
          if (answer.status() == 401) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
          }
          if (answer.status() == 429) {
            ctx.response().putHeader("Retry-After", Integer.toString(ExportSlots.RETRY_AFTER_SECONDS));
          }
          ErrorEnvelope.send(ctx, answer.status(), answer.body(), null);
        }
      } else {
        LOG.error("activity request failed", failure);
        ErrorEnvelope.send(ctx, 500, "Internal server error", null);
      }
    }

    /**
     * A status with either the JSON body (200), as text or as the bytes of an activity answer, or the error message
     * (anything else).
     */
    private record Answer(int status, String body, JsonBytes json) {
      Answer(int status, String body) {
        this(status, body, null);
      }

      static Answer json(JsonBytes json) {
        return new Answer(200, null, json);
      }
    }

    /**
     * The answer of a request whose every part is in memory, made on the event loop: a management key that was valid
     * before, valid parameters, an api_key_hash the cache remembers as reported, every day cached. Null when any of it
     * is not so; the worker path then answers or refuses it, as it always did. A hit costs less than a worker's hop
     * and queue, and it never waits for ClickHouse. The key check here may look at the key file's time and size (the
     * store does once a second) but never reads the file for a secret it has not known valid: unknown secrets go to a
     * worker.
     */
    private JsonBytes answerFromMemory(String authorization, Map<String, List<String>> params) {
      String secret = bearer(authorization);
      if (secret == null || !validManagementKeys.contains(Secrets.sha256Hex(secret))) {
        return null;
      }
      Checked<ActivityRequest> checked = check(authorization, params, ActivityRequest::parse,
          ActivityRequest::apiKeyHash, activity::apiKeyKnownInMemory);
      if (checked.refusal() != null) {
        return null; // refused by the worker path in the contract's order (a 404 needs ClickHouse anyway)
      }
      // Copied into the response before the event loop takes its next request, so the array is reused: growing a new
      // one to a large account's answer was a fifth of a hit's time.
      JsonBytes json = answerBuffer.get();
      if (json.capacity() > MAX_REUSED_CAPACITY) {
        json = new JsonBytes(ANSWER_CAPACITY);
        answerBuffer.set(json);
      }
      json.clear().append(DATA_START);
      if (!activity.activityJsonFromMemory(checked.account(), checked.request(), json, maxItems)) {
        return null;
      }
      return json.append(DATA_END);
    }

    /** The caller's account, or the 401/403 answer; remembers which management keys were valid. */
    private Object account(String authorization) {
      String secret = bearer(authorization);
      Optional<Credential> credential = credentials.authenticate(secret);
      boolean valid = credential.isPresent() && credential.get().kind() == CredentialKind.MANAGEMENT;
      if (secret != null) {
        rememberValidity(Secrets.sha256Hex(secret), valid);
      }
      if (credential.isEmpty()) {
        return new Answer(401, authorization == null ? "Missing API key" : "Invalid or revoked API key");
      }
      if (!valid) {
        return new Answer(403, "A management key is required");
      }
      return credential.get().accountId();
    }

    private void rememberValidity(String secretHash, boolean valid) {
      if (!valid) {
        validManagementKeys.remove(secretHash);
      } else if (!validManagementKeys.contains(secretHash)) {
        if (validManagementKeys.size() >= MAX_REMEMBERED_KEYS) {
          validManagementKeys.clear();
        }
        validManagementKeys.add(secretHash);
      }
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
        BiFunction<Map<String, List<String>>, LocalDate, R> parser, Function<R, Optional<String>> apiKeyHash,
        BiPredicate<String, String> apiKeyKnown) {
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
      if (hash.isPresent() && !apiKeyKnown.test(account, hash.get())) {
        return Checked.refuse(404, "Parameter api_key_hash: no such api key for this account");
      }
      return new Checked<>(account, request, null);
    }

    private Answer answer(String authorization, Map<String, List<String>> params) {
      Checked<ActivityRequest> checked = check(authorization, params, ActivityRequest::parse, ActivityRequest::apiKeyHash,
          activity::apiKeyKnown);
      if (checked.refusal() != null) {
        return checked.refusal();
      }
      String account = checked.account();
      ActivityRequest request = checked.request();
      JsonBytes json = new JsonBytes(ANSWER_CAPACITY);
      json.append(DATA_START);
      try {
        activity.activityJson(account, request, json, maxItems);
      } catch (InvalidParameterException e) {
        return new Answer(400, e.getMessage()); // the answer is too large
      }
      json.append(DATA_END);
      return Answer.json(json);
    }

    /** An export's answer (a JSON page or a refusal), or the start of its CSV stream. */
    private record Exported(Answer answer, CsvStart csv) {}

    /** A CSV export that holds its slot and has read its first page. */
    private record CsvStart(String account, ExportSlots.Slot slot, CsvExport.Page first) {}

    /**
     * Checks the request, takes an export slot (429 when the account or the service is at its limit), then reads the
     * JSON page, or the first CSV page: read before the status line, so a ClickHouse failure up front is a clean 500.
     */
    private Exported export(String authorization, Map<String, List<String>> params) throws Exception {
      Checked<ExportRequest> checked = check(authorization, params, ExportRequest::parse, ExportRequest::apiKeyHash,
          activity::apiKeyKnown);
      if (checked.refusal() != null) {
        return new Exported(checked.refusal(), null);
      }
      String account = checked.account();
      ExportRequest request = checked.request();
      ExportSlots.Slot slot = exportSlots.tryAcquire(account);
      if (slot == null) {
        return new Exported(new Answer(429, exportSlots.refusal()), null);
      }
      if (request.format() == ExportRequest.Format.CSV) {
        try {
          return new Exported(null, new CsvStart(account, slot, csvPage(account, request, true)));
        } catch (RuntimeException e) {
          slot.release();
          throw e;
        }
      }
      try {
        return new Exported(jsonPage(account, request), null);
      } finally {
        slot.release(); // a page is at most MAX_LIMIT rows, written without waiting for the client
      }
    }

    private Answer jsonPage(String account, ExportRequest request) throws Exception {
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
     * One keyset page of {@value #CSV_PAGE_ROWS} rows as CSV text (after the header line when {@code first}), and the
     * request of the next page unless this one was the last.
     */
    private CsvExport.Page csvPage(String account, ExportRequest request, boolean first) {
      int pageRows = csvPageRows;
      List<ExportRow> page = exports.page(account, request, pageRows);
      StringBuilder chunk = new StringBuilder(page.size() * 160 + 200);
      if (first) {
        chunk.append(ExportRow.csvHeader(request.groupColumns()));
      }
      for (ExportRow row : page) {
        row.appendCsv(chunk);
      }
      ExportRequest next = page.size() < pageRows ? null : request.after(page.get(page.size() - 1).values());
      return new CsvExport.Page(Buffer.buffer(chunk.toString()), next);
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
}
