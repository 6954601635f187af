package io.tallyhouse.ingest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.auth.Credential;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.http.ErrorEnvelope;
import io.tallyhouse.common.http.EventLoopWatchdog;
import io.tallyhouse.common.http.OpsRoutes;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/events} (CONTRACT.md section 2): authenticates the ingest token, validates the whole request,
 * and answers 202 only once Kafka has acknowledged every event with acks=all. Vert.x keeps the wait for the
 * acknowledgement off any thread: a request costs a callback, not a blocked worker.
 */
public final class IngestServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(IngestServer.class);
  /** An array of event objects is two levels deep; the rest is room for field values the validator refuses. */
  static final int MAX_NESTING = 32;
  /**
   * Exact decimals: every JSON number with a fraction or exponent becomes a BigDecimal parsed from its text. A key
   * given twice in one object is refused (the last value would silently win: {@code "cost":1,"cost":1000}); events
   * are flat, so nesting is capped far below the parser's default.
   */
  static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build()).build())
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .build();

  /** Bodies up to this size are handled on the event loop; larger ones on a worker thread. */
  static final int INLINE_BODY_BYTES = 16 * 1024;

  private final IngestConfig config;
  private final Vertx vertx;
  private final CredentialStore keys;
  private final EventValidator validator;
  private final EventPublisher publisher;
  private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter accepted;
  private final Map<Integer, Timer> requestTimers = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong inFlightBytes = new AtomicLong();
  private final AtomicInteger inFlightRequests = new AtomicInteger();
  private volatile boolean draining;
  private final List<HttpServer> servers = new java.util.ArrayList<>();

  private IngestServer(IngestConfig config, Clock clock) {
    this.config = config;
    this.vertx = Vertx.vertx();
    this.keys = new CredentialStore(config.keysFile(), metrics);
    this.validator = new EventValidator(clock, config.dedupWindow(), config.maxEvents());
    this.publisher = new EventPublisher(config, new SchemaRegistryClient(config.registry()));
    this.accepted = Counter.builder("ingest_events_accepted").description("events acknowledged with 202")
        .register(metrics);
    io.micrometer.core.instrument.Gauge.builder("ingest_in_flight_bytes", inFlightBytes, AtomicLong::get)
        .description("request bytes accepted and not yet answered").register(metrics);
  }

  /** Prepares the topic and schema, then listens; returns once the port is bound. */
  public static IngestServer start(IngestConfig config, Clock clock) {
    IngestServer ingest = new IngestServer(config, clock);
    try {
      ingest.publisher.prepare();
      ingest.publisher.publishSchema();
      ingest.listen();
    } catch (RuntimeException e) {
      ingest.close();
      throw e;
    }
    return ingest;
  }

  public int port() {
    return servers.get(0).actualPort();
  }

  private void listen() {
    Router router = Router.router(vertx);
    OpsRoutes.mount(router, metrics, publisher::ready, EventLoopWatchdog.start(vertx));
    byte[] openApi = openApiDocument();
    router.get("/openapi.yaml").handler(ctx -> ctx.response().putHeader("Content-Type", "application/yaml")
        .end(io.vertx.core.buffer.Buffer.buffer(openApi)));
    router.post("/v1/events").handler(this::checkHeaders);
    router.post("/v1/events").handler(BodyHandler.create(false).setBodyLimit(config.maxBodyBytes()));
    router.post("/v1/events").handler(this::ingest);
    router.route().failureHandler(this::failure);
    router.route().last().handler(ctx -> ErrorEnvelope.send(ctx, 404, "Not found", null));
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.httpHost())
        .setPort(config.httpPort())
        // gzip is decoded by this service (GzipBody), not by Netty: Netty would go on inflating a gzip bomb to its
        // end while draining the refused request, and skips decoding after a cleartext HTTP/2 upgrade.
        .setDecompressionSupported(false)
        .setHttp2ClearTextEnabled(false);
    // A server made outside a verticle runs on one event loop; one server per core on the same port lets Vert.x
    // spread connections over all of them.
    int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
    try {
      // Port 0 would give every instance its own random port; a negative port is Vert.x's shared random port.
      if (options.getPort() == 0) {
        options.setPort(-1);
      }
      for (int i = 0; i < instances; i++) {
        servers.add(vertx.createHttpServer(options).requestHandler(router).listen()
            .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
      }
    } catch (Exception e) {
      throw new IllegalStateException("gateway-ingest cannot listen on " + config.httpHost() + ":" + config.httpPort(), e);
    }
    LOG.info("gateway-ingest listening on {}:{}, topic {}", config.httpHost(), port(), config.eventsTopic());
  }

  static byte[] openApiDocument() {
    try (java.io.InputStream in = IngestServer.class.getResourceAsStream("/openapi.yaml")) {
      if (in == null) {
        throw new IllegalStateException("openapi.yaml is missing from the classpath");
      }
      return in.readAllBytes();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Refuses before reading the body: no token, wrong token kind, not JSON. */
  private void checkHeaders(RoutingContext ctx) {
    String authorization = ctx.request().getHeader("Authorization");
    Optional<Credential> credential = Optional.empty();
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      credential = keys.authenticate(authorization.substring(7).trim());
    }
    if (credential.isEmpty()) {
      reject(ctx, "unauthorized", 401, "Missing or unknown ingest token", null);
      return;
    }
    if (credential.get().kind() != CredentialKind.INGEST) {
      reject(ctx, "forbidden", 403, "This key is not an ingest token", null);
      return;
    }
    String contentType = ctx.request().getHeader("Content-Type");
    String mediaType = contentType == null ? "" : contentType.split(";", 2)[0].trim();
    if (!mediaType.equalsIgnoreCase("application/json")) {
      reject(ctx, "unsupported_media_type", 415, "Content-Type must be application/json", null);
      return;
    }
    String encoding = ctx.request().getHeader("Content-Encoding");
    if (encoding != null && !GzipBody.isSupported(encoding)) {
      reject(ctx, "unsupported_media_type", 415, "Content-Encoding must be gzip or identity", null);
      return;
    }
    ctx.put("credential", credential.get());
    ctx.next();
  }

  private void ingest(RoutingContext ctx) {
    Timer.Sample sample = Timer.start(metrics);
    Credential credential = ctx.get("credential");
    byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    if (draining) {
      ctx.response().putHeader("Retry-After", "1").putHeader("Connection", "close");
      reject(ctx, "shutting_down", 503, "The service is shutting down; retry the request", null);
      sample.stop(requestTimer(503));
      return;
    }
    // Bounded memory: past the in-flight limit a request is refused at once instead of queueing behind Kafka.
    Reservation reservation = new Reservation();
    if (!reservation.take(body.length)) {
      refuseOverloaded(ctx);
      sample.stop(requestTimer(503));
      return;
    }
    inFlightRequests.incrementAndGet();
    boolean gzip = GzipBody.isGzip(ctx.request().getHeader("Content-Encoding"));
    Callable<Checked> work = () -> {
      byte[] json = body;
      if (gzip) {
        // The decoded bytes count against the in-flight limit as they are inflated: a small body that inflates to
        // megabytes holds megabytes.
        GzipBody.Decoded decoded = GzipBody.decode(body, config.maxBodyBytes(), reservation::take);
        if (decoded.refusal() != null) {
          return Checked.refuse(decoded.reason(), decoded.status(), decoded.refusal(), null);
        }
        json = decoded.bytes();
      }
      Checked checked = parseAndCheck(json, credential);
      return checked.refusal() != null ? checked
          : new Checked(checked.events(), null, publisher.publish(checked.events()));
    };
    // A small body costs tens of microseconds: handing it to a worker thread would cost more than the work.
    // publish() never blocks: the producer's waits for metadata or buffer space happen on its sender thread.
    Future<Checked> checkedAndSent;
    // A compressed body may inflate to megabytes: always a worker for those.
    if (!gzip && body.length <= INLINE_BODY_BYTES) {
      try {
        checkedAndSent = Future.succeededFuture(work.call());
      } catch (Exception e) {
        checkedAndSent = Future.failedFuture(e);
      }
    } else {
      checkedAndSent = vertx.executeBlocking(work, false);
    }
    checkedAndSent
        .compose(checked -> checked.acknowledged() == null ? Future.succeededFuture(checked)
            // The producer answers every record: a queued send within the publish timeout (else it fails unsent),
            // then its delivery within the publish timeout again. The margin only guards against a bug.
            : Future.fromCompletionStage(checked.acknowledged()
                .orTimeout(2 * config.publishTimeout().toMillis() + 5000, TimeUnit.MILLISECONDS),
                ctx.vertx().getOrCreateContext())
                .map(n -> checked))
        .onComplete(result -> {
          try {
            respond(ctx, result);
          } finally {
            reservation.release();
            inFlightRequests.decrementAndGet();
            sample.stop(requestTimer(ctx.response().getStatusCode()));
          }
        });
  }

  private void refuseOverloaded(RoutingContext ctx) {
    ctx.response().putHeader("Retry-After", "1");
    reject(ctx, "overloaded", 503, "Too much data in flight; retry the request", null);
  }

  /**
   * One request's bytes held against MAX_IN_FLIGHT_BYTES: the body as received, then, for gzip, its decoded bytes as
   * they are inflated. Used by one thread at a time (the event loop, a worker, the event loop again).
   */
  private final class Reservation {
    private long held;

    /** Holds {@code bytes} more, or nothing and false past the limit; a request alone is always admitted. */
    boolean take(long bytes) {
      long inFlight = inFlightBytes.addAndGet(bytes);
      if (inFlight > config.maxInFlightBytes() && inFlight != held + bytes) {
        inFlightBytes.addAndGet(-bytes);
        return false;
      }
      held += bytes;
      return true;
    }

    void release() {
      inFlightBytes.addAndGet(-held);
      held = 0;
    }
  }

  private void respond(RoutingContext ctx, io.vertx.core.AsyncResult<Checked> result) {
    if (result.succeeded() && result.result().refusal() != null) {
      Refusal r = result.result().refusal();
      if (r.code() == 503) {
        ctx.response().putHeader("Retry-After", "1");
      }
      reject(ctx, r.reason(), r.code(), r.message(), r.metadata());
    } else if (result.succeeded()) {
      int n = result.result().events().size();
      accepted.increment(n);
      ctx.response().setStatusCode(202).putHeader("Content-Type", "application/json")
          .end("{\"accepted\":" + n + "}");
    } else {
      LOG.warn("publishing to Kafka failed: {}", result.cause().toString());
      metrics.counter("ingest_producer_errors").increment();
      ctx.response().putHeader("Retry-After", "1");
      reject(ctx, "kafka_unavailable", 503, "Kafka could not take the events in time; nothing was"
          + " acknowledged, retry the request", null);
    }
  }

  /** Why a request is refused before anything is published. */
  private record Refusal(String reason, int code, String message, Object metadata) {}

  /** Either the events (and, once sent, their acknowledgement) or the refusal. */
  private record Checked(List<UsageEvent> events, Refusal refusal, CompletableFuture<Integer> acknowledged) {
    static Checked refuse(String reason, int code, String message, Object metadata) {
      return new Checked(null, new Refusal(reason, code, message, metadata), null);
    }
  }

  private Checked parseAndCheck(byte[] body, Credential credential) {
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      return Checked.refuse("malformed_json", 400,
          JsonProblem.describe(e, JSON.getFactory().streamReadConstraints()), null);
    } catch (java.io.IOException e) {
      return Checked.refuse("malformed_json", 400, "Malformed JSON", null);
    }
    EventValidator.Outcome outcome = validator.validate(tree);
    if (!outcome.valid()) {
      return Checked.refuse("invalid", 400, "Invalid events: " + outcome.errors().size() + " problem(s)",
          Map.of("errors", outcome.errors()));
    }
    TreeSet<String> refused = new TreeSet<>();
    for (UsageEvent event : outcome.events()) {
      if (!credential.mayIngestFor(event.getAccountId())) {
        refused.add(event.getAccountId());
      }
    }
    if (!refused.isEmpty()) {
      return Checked.refuse("forbidden_account", 403, "This ingest token may not post events for account(s) "
          + String.join(", ", refused), null);
    }
    return new Checked(outcome.events(), null, null);
  }

  private void reject(RoutingContext ctx, String reason, int code, String message, Object metadata) {
    metrics.counter("ingest_requests_rejected", "reason", reason).increment();
    ErrorEnvelope.send(ctx, code, message, metadata);
  }

  private void failure(RoutingContext ctx) {
    int code = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
    if (code == 413) {
      reject(ctx, "too_large", 413, "The body exceeds " + config.maxBodyBytes() + " bytes (after decoding)", null);
    } else if (code >= 500) {
      LOG.error("request failed", ctx.failure());
      reject(ctx, "internal", 500, "Internal error", null);
    } else {
      reject(ctx, "bad_request", code, "Bad request", null);
    }
  }

  /** One timer per status, built once: a builder and a registry lookup per request cost more than the timing. */
  private Timer requestTimer(int status) {
    return requestTimers.computeIfAbsent(status, s -> Timer.builder("ingest_request").tag("status", String.valueOf(s))
        .publishPercentileHistogram().register(metrics));
  }

  /**
   * Graceful stop: new requests get 503, requests in flight finish (each within the publish timeout), the port
   * closes, and the producer flushes, so every request that got 202 is on the topic.
   */
  @Override
  public void close() {
    draining = true;
    long deadline = System.nanoTime() + config.publishTimeout().plusSeconds(2).toNanos();
    while (inFlightRequests.get() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (HttpServer server : servers) {
      try {
        server.shutdown(5, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("closing the HTTP server failed", e);
      }
    }
    publisher.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("closing Vert.x failed", e);
    }
    LOG.info("gateway-ingest stopped");
  }

  /** Runs the service from the environment until SIGTERM or Ctrl-C, then stops gracefully. */
  public static void main(String[] args) throws InterruptedException {
    IngestServer server = start(IngestConfig.fromEnv(System.getenv()), Clock.systemUTC());
    java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "gateway-ingest-shutdown"));
    stopped.await();
  }
}
