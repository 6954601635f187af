package io.tallyhouse.query;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.common.http.HttpServers;
import io.tallyhouse.common.metrics.DependencyChecks;
import io.tallyhouse.common.metrics.ServiceMetrics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.query.activity.ActivityRepository;
import io.tallyhouse.query.auth.ManagementKeys;
import io.tallyhouse.query.auth.ReportedFilters;
import io.tallyhouse.query.cache.CacheWarmup;
import io.tallyhouse.query.cache.CompletedDayCache;
import io.tallyhouse.query.cache.CompletedDayRepository;
import io.tallyhouse.query.event.EventRepository;
import io.tallyhouse.query.export.ExportPages;
import io.tallyhouse.query.export.ExportRepository;
import io.tallyhouse.query.export.ExportSlots;
import io.tallyhouse.query.http.ActivityRouter;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of activity-query: loads the configuration, applies the migrations, wires
 * the cache, the repositories and the routes ({@link ActivityRouter}), and listens on every core.
 */
public final class ActivityServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ActivityServer.class);

  /**
   * Long enough that oversized parameters get a 400 naming them instead of the server's bare 414.
   */
  private static final int MAX_INITIAL_LINE = 64 * 1024;

  private final Vertx vertx;

  /** One per core, sharing the port. */
  private final List<HttpServer> servers;

  private final ClickHouse clickHouse;
  private final CompletedDayCache cache;
  private final CacheWarmup warmup;
  private final ServiceMetrics metrics;
  private final DependencyChecks dependencies;

  private ActivityServer(
      Vertx vertx,
      List<HttpServer> servers,
      ClickHouse clickHouse,
      CompletedDayCache cache,
      CacheWarmup warmup,
      ServiceMetrics metrics,
      DependencyChecks dependencies) {
    this.vertx = vertx;
    this.servers = servers;
    this.clickHouse = clickHouse;
    this.cache = cache;
    this.warmup = warmup;
    this.metrics = metrics;
    this.dependencies = dependencies;
  }

  /** Runs until SIGTERM; {@code --check-config} only validates the environment. */
  public static void main(String[] args) throws Exception {
    ServiceMain.run(
        "activity-query", args, QueryConfig::read, config -> start(config, Clock.systemUTC()));
  }

  /**
   * Checks that the ClickHouse database holds the schema this build needs (refusing to start,
   * saying what to run, when it does not: {@code tallyhouse migrate} makes the schema), then
   * listens; returns once the server accepts connections.
   *
   * @param clock decides which UTC days are completed
   */
  public static ActivityServer start(QueryConfig config, Clock clock) {
    return start(config, clock, ExportPages.CSV_PAGE_ROWS);
  }

  /**
   * As {@link #start(QueryConfig, Clock)}, reading CSV exports in keyset pages of {@code
   * csvPageRows} rows.
   */
  public static ActivityServer start(QueryConfig config, Clock clock, int csvPageRows) {
    ClickHouse clickHouse = new ClickHouse(config.clickHouse());
    Vertx vertx = null;
    CompletedDayCache cache = null;
    CacheWarmup warmup = null;
    ServiceMetrics serviceMetrics = ServiceMetrics.create("activity-query");
    PrometheusMeterRegistry metrics = serviceMetrics.registry();
    DependencyChecks dependencies =
        new DependencyChecks(metrics, Map.of(DependencyChecks.CLICKHOUSE, clickHouse::ping));
    try {
      SchemaVersion.require(clickHouse);
      dependencies.start();

      ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
      CompletedDayRepository days = new CompletedDayRepository(clickHouse, metrics);
      cache =
          new CompletedDayCache(
              repository, days, clock, config.cacheMaxBytes(), config.cachePollInterval(), metrics);
      cache.start();
      warmup =
          new CacheWarmup(
              cache,
              days::recentAccounts,
              clock,
              config.warmup().on(),
              config.warmup().maxWait(),
              metrics);
      warmup.start();
      CacheWarmup warming = warmup;
      vertx = Vertx.vertx();
      Router router =
          ActivityRouter.create(
              vertx,
              new ManagementKeys(new CredentialStore(config.keysFile(), metrics)),
              new ReportedFilters(repository::reported, cache.enabled()),
              new ActivityRouter.Activity(cache, config.activityMaxItems()),
              new ActivityRouter.Exports(
                  new ExportPages(new ExportRepository(clickHouse, metrics), csvPageRows),
                  new ExportSlots(config.exports().perAccount(), config.exports().total(), metrics),
                  config.exports().stallTimeout()),
              new EventRepository(clickHouse, metrics),
              clock,
              metrics,
              // Not ready while warming (at most the configured wait): a rolling update keeps the
              // old instance serving until this one answers first requests from memory.
              () -> dependencies.check(DependencyChecks.CLICKHOUSE) && warming.ready());
      HttpServerOptions options =
          new HttpServerOptions()
              .setHost(config.host())
              .setPort(config.port())
              .setMaxInitialLineLength(MAX_INITIAL_LINE);
      List<HttpServer> servers = HttpServers.listenOnEveryCore(vertx, options, router);
      LOG.info(
          "activity-query listening on {}:{} (ClickHouse database {})",
          config.host(),
          servers.get(0).actualPort(),
          clickHouse.database());
      return new ActivityServer(
          vertx, servers, clickHouse, cache, warmup, serviceMetrics, dependencies);
    } catch (Exception e) {
      dependencies.close();
      serviceMetrics.close();
      if (warmup != null) {
        warmup.close();
      }
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
      throw cause instanceof RuntimeException r
          ? r
          : new IllegalStateException("activity-query cannot start", cause);
    }
  }

  /** The port the server listens on (the chosen one when configured with 0). */
  public int port() {
    return servers.get(0).actualPort();
  }

  /** The Vert.x instance the servers run on. */
  public Vertx vertx() {
    return vertx;
  }

  /** The cache of completed days the activity route answers from. */
  public CompletedDayCache cache() {
    return cache;
  }

  /** The cache's warm-up at start. */
  public CacheWarmup warmup() {
    return warmup;
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
    dependencies.close();
    warmup.close();
    cache.close();
    clickHouse.close();
    metrics.close();
  }
}
