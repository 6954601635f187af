package io.tallyhouse.stream;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.common.http.EventLoopWatchdog;
import io.tallyhouse.common.http.Liveness;
import io.tallyhouse.common.http.OpsRoutes;
import io.tallyhouse.common.kafka.ClusterCheck;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.common.metrics.DependencyChecks;
import io.tallyhouse.common.metrics.ServiceMetrics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.stream.maintenance.DayCloser;
import io.tallyhouse.stream.maintenance.RawRetention;
import io.tallyhouse.stream.maintenance.StreamGenerations;
import io.tallyhouse.stream.monitoring.ConsumerLag;
import io.tallyhouse.stream.topology.RetryingDeserializer;
import io.tallyhouse.stream.topology.StreamThreadFailures;
import io.tallyhouse.stream.topology.StreamsProperties;
import io.tallyhouse.stream.topology.UsageTopology;
import io.tallyhouse.stream.writer.ClickHouseWriter;
import io.tallyhouse.stream.writer.Freshness;
import io.tallyhouse.stream.writer.WriterHealth;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * usage-stream's composition root: wires the dedup and rollup topology (Kafka Streams,
 * exactly_once_v2), the ClickHouse writer and the raw-table retention, starts them, and serves
 * health and metrics over HTTP.
 */
public final class UsageStreamApp implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(UsageStreamApp.class);

  private final StreamConfig config;
  private final ClickHouse clickHouse;
  private final SchemaRegistryClient registry;
  private final KafkaStreams streams;
  private final ClickHouseWriter writer;
  private final RawRetention rawRetention;
  private final StreamGenerations generations;

  /** Answers the stream tasks' questions about offsets while they close days. */
  private final Admin offsetsAdmin;

  private final LongAdder deadLettered = new LongAdder();
  private final StreamThreadFailures threadFailures;
  private final Vertx vertx = Vertx.vertx();
  private final ServiceMetrics serviceMetrics = ServiceMetrics.create("usage-stream");
  private final PrometheusMeterRegistry metrics = serviceMetrics.registry();
  private final DependencyChecks dependencies;
  private HttpServer server;
  private volatile boolean closing;

  private UsageStreamApp(StreamConfig config, int eventsPartitions) {
    this.config = config;
    this.clickHouse = new ClickHouse(config.clickHouse());
    this.registry = new SchemaRegistryClient(config.registry());
    this.offsetsAdmin = Admin.create(config.kafka().admin());
    this.threadFailures = new StreamThreadFailures(config.registry().url());
    this.streams =
        new KafkaStreams(
            UsageTopology.build(
                config.topics(),
                config.dedupWindow(),
                config.rollupCacheGroups(eventsPartitions),
                closing(config, offsetsAdmin),
                new RetryingDeserializer<>(UsageEventSerde.deserializer(registry)),
                deadLettered),
            streamsProperties(config, eventsPartitions));
    this.generations = new StreamGenerations(config.generations(), clickHouse);
    this.writer = writer(config, clickHouse, metrics);
    this.rawRetention = new RawRetention(clickHouse, config.rawRetentionDays(), Clock.systemUTC());
    // Readiness checks ClickHouse and the registry (its state is what its last call said); Kafka is
    // only checked in the background, with one metadata request per interval.
    this.dependencies =
        new DependencyChecks(
            metrics,
            Map.of(
                DependencyChecks.KAFKA,
                () -> ClusterCheck.answers(offsetsAdmin),
                DependencyChecks.SCHEMA_REGISTRY,
                () -> registry.trouble().isEmpty(),
                DependencyChecks.CLICKHOUSE,
                clickHouse::ping));
  }

  /**
   * Creates the topics that are missing, refuses a ClickHouse database behind this build's schema
   * (saying what to run: {@code tallyhouse migrate}), then starts the topology, the writer (which
   * checks the schema version too, and waits for ClickHouse if it is down: the stream does not need
   * it, except at a new generation's first start), the raw-table retention and the HTTP port.
   */
  public static UsageStreamApp start(StreamConfig config) {
    // The events topic's own partition count (not a setting) sizes the threads and caches.
    UsageStreamApp app = new UsageStreamApp(config, ensureTopics(config));
    try {
      app.checkSchema();
      app.streams.setUncaughtExceptionHandler(app.threadFailures);
      // Before anything is read: a new generation must not count again what an earlier one counted.
      app.generations.checkBeforeStart();
      app.streams.start();
      app.writer.start();
      app.rawRetention.start();
      app.dependencies.start();
      app.listen();
      LOG.info(
          "usage-stream {} started, Kafka client properties set: {}",
          config.applicationId(),
          config.kafka().describeKeys());
    } catch (RuntimeException e) {
      app.close();
      throw e;
    }
    return app;
  }

  public int port() {
    return server.actualPort();
  }

  /**
   * Whether the topology runs, the writer keeps up, ClickHouse answers and the schema registry can
   * be used.
   */
  public boolean ready() {
    return streams.state().isRunningOrRebalancing()
        && writer.healthy()
        && dependencies.check(DependencyChecks.CLICKHOUSE)
        && dependencies.check(DependencyChecks.SCHEMA_REGISTRY);
  }

  /** Stream threads that failed and were replaced since the start. */
  long threadFailures() {
    return threadFailures.count();
  }

  /**
   * What only a restart cures: the writer thread ended, or Kafka Streams failed (every stream
   * thread died) or stopped while nobody closed it. A writer that is restarting its consumer, or
   * Streams rebalancing, is alive.
   */
  Optional<String> liveProblem() {
    if (!writer.alive()) {
      return Optional.of("the ClickHouse writer thread has died (see the log)");
    }
    KafkaStreams.State state = streams.state();
    boolean failed = state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR;
    boolean stopped =
        !closing
            && (state == KafkaStreams.State.NOT_RUNNING
                || state == KafkaStreams.State.PENDING_SHUTDOWN);
    return failed || stopped ? Optional.of("Kafka Streams is " + state) : Optional.empty();
  }

  private void listen() {
    WriterHealth health = writer.health();
    FunctionCounter.builder("stream_clickhouse_rows_written", health, WriterHealth::rowsWritten)
        .description("rows the ClickHouse writer inserted (raw events and rollup rows)")
        .register(metrics);
    FunctionCounter.builder(
            "stream_clickhouse_insert_failures", health, WriterHealth::insertFailures)
        .description("ClickHouse inserts that failed and were retried (see the log)")
        .register(metrics);
    FunctionCounter.builder(
            "stream_writer_partitions_with_deleted_records",
            health,
            WriterHealth::partitionsWithDeletedRecords)
        .description("times the writer found records deleted before it read them (see the log)")
        .register(metrics);
    Gauge.builder("stream_writer_assigned_partitions", health, WriterHealth::assignedPartitions)
        .description("partitions the ClickHouse writer's consumer holds (0: it consumes nothing)")
        .register(metrics);
    FunctionCounter.builder(
            "stream_writer_commits_abandoned", health, WriterHealth::commitsAbandoned)
        .description(
            "batch commits refused, or dropped for partitions lost meanwhile; their rows are written again")
        .register(metrics);
    FunctionCounter.builder("stream_writer_restarts", health, WriterHealth::restarts)
        .description("times the writer replaced its consumer after a failure (see the log)")
        .register(metrics);
    FunctionCounter.builder("stream_dead_lettered_records", deadLettered, LongAdder::sum)
        .description("records sent to the dead-letter topic by this instance")
        .register(metrics);
    FunctionCounter.builder("stream_thread_failures", threadFailures, StreamThreadFailures::count)
        .description("stream threads that failed and were replaced (see the log)")
        .register(metrics);
    metrics
        .getPrometheusRegistry()
        .register(
            new ConsumerLag(
                List.of(
                    new ConsumerLag.Source(
                        "rollup",
                        streams::metrics,
                        ConsumerLag.streamsMainConsumerOn(config.eventsTopic())),
                    new ConsumerLag.Source("writer", writer::consumerMetrics, name -> true))));
    Router router = Router.router(vertx);
    OpsRoutes.mount(
        router,
        metrics,
        this::ready,
        Liveness.all(EventLoopWatchdog.start(vertx), this::liveProblem));
    String host = config.http().host();
    int port = config.http().port();
    try {
      server =
          vertx
              .createHttpServer()
              .requestHandler(router)
              .listen(port, host)
              .toCompletionStage()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("usage-stream cannot listen on " + host + ":" + port, e);
    }
  }

  /**
   * Refuses to start on a database behind this build or with connection settings ClickHouse
   * refuses; a ClickHouse that does not answer now is checked by the writer once it does.
   */
  private void checkSchema() {
    try {
      SchemaVersion.require(clickHouse);
    } catch (ClickHouseException e) {
      if (e.misconfigured()) {
        throw e;
      }
      LOG.warn(
          "ClickHouse does not answer, the writer checks the schema version once it does: {}",
          e.getMessage());
    }
  }

  /**
   * Creates the topics that are missing (refusing misconfigured ones); returns the events topic's
   * partition count.
   */
  private static int ensureTopics(StreamConfig config) {
    try (Admin admin = Admin.create(config.kafka().admin())) {
      return PipelineTopics.ensure(
              admin,
              List.of(config.eventsTopic(), config.distinctEventsTopic(), config.deadLetterTopic()),
              config.eventsPartitions(),
              30_000)
          .get(config.eventsTopic());
    }
  }

  /**
   * The ClickHouse writer of {@code config}'s stream, writing into the shards of its generation and
   * reporting its freshness to {@code metrics}.
   */
  public static ClickHouseWriter writer(
      StreamConfig config, ClickHouse clickHouse, MeterRegistry metrics) {
    StreamGenerations generations = new StreamGenerations(config.generations(), clickHouse);
    return ClickHouseWriter.of(
        config.applicationId(),
        config.kafka(),
        config.distinctEventsTopic(),
        config.writer(),
        clickHouse,
        generations::writerShardBases,
        new Freshness(metrics));
  }

  static DayCloser.Settings closing(StreamConfig config, Admin admin) {
    return new DayCloser.Settings(config.closeBatchGroups(), DayCloser.Offsets.of(admin));
  }

  static Properties streamsProperties(StreamConfig config, int eventsPartitions) {
    return config
        .kafka()
        .streams(
            StreamsProperties.of(
                config.applicationId(),
                config.stateDir(),
                config.commitInterval(),
                config.streamThreads(eventsPartitions),
                config.producerCompression()));
  }

  /**
   * Stops the HTTP port, the topology (committing its transaction), the writer and the retention.
   */
  @Override
  public void close() {
    closing = true;
    dependencies.close();
    if (server != null) {
      server.close();
    }
    streams.close(Duration.ofSeconds(30));
    offsetsAdmin.close();
    writer.close();
    rawRetention.close();
    clickHouse.close();
    serviceMetrics.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("closing Vert.x failed", e);
    }
  }

  /** Runs usage-stream with the settings of its environment until SIGTERM or Ctrl-C. */
  public static void main(String[] args) throws Exception {
    ServiceMain.run("usage-stream", args, StreamConfig::read, UsageStreamApp::start);
  }
}
