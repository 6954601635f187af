package io.tallyhouse.stream;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.http.EventLoopWatchdog;
import io.tallyhouse.common.http.Liveness;
import io.tallyhouse.common.http.OpsRoutes;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.registry.SchemaRegistryException;
import io.tallyhouse.schemas.serde.UsageEventSerde;
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
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndFailExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * usage-stream: the dedup and rollup topology (Kafka Streams, exactly_once_v2) and the ClickHouse writer, plus
 * health and metrics over HTTP.
 */
public final class UsageStreamApp implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(UsageStreamApp.class);

  private final StreamConfig config;
  private final ClickHouse clickHouse;
  private final SchemaRegistryClient registry;
  private final KafkaStreams streams;
  private final ClickHouseWriter writer;
  /** Answers the stream tasks' questions about offsets while they close days. */
  private final Admin offsetsAdmin;
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder threadFailures = new LongAdder();
  private final RegistryBackoff registryBackoff = new RegistryBackoff();
  private final Vertx vertx = Vertx.vertx();
  private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private HttpServer server;
  private volatile boolean closing;

  private UsageStreamApp(StreamConfig config) {
    this.config = config;
    this.clickHouse = new ClickHouse(config.clickHouse());
    this.registry = new SchemaRegistryClient(config.registry());
    this.offsetsAdmin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers()));
    this.streams = new KafkaStreams(UsageTopology.build(config.topics(), config.dedupWindow(),
        config.rollupCacheGroups(), closing(config, offsetsAdmin),
        new RetryingDeserializer<>(UsageEventSerde.deserializer(registry)), deadLettered), streamsProperties(config));
    this.writer = new ClickHouseWriter(config, clickHouse, Clock.systemUTC());
  }

  /**
   * Creates the topics that are missing, then starts the topology, the writer (which creates its tables first, and
   * waits for ClickHouse if it is down: the stream does not need it, except at a new generation's first start) and the
   * HTTP port.
   */
  public static UsageStreamApp start(StreamConfig config) {
    UsageStreamApp app = new UsageStreamApp(config);
    try {
      app.createTopics();
      app.streams.setUncaughtExceptionHandler(app::onThreadFailure);
      // Before anything is read: a new generation must not count again what an earlier one counted.
      new StreamGenerations(config, app.clickHouse).checkBeforeStart();
      app.streams.start();
      app.writer.start();
      app.listen();
    } catch (RuntimeException e) {
      app.close();
      throw e;
    }
    return app;
  }

  public int port() {
    return server.actualPort();
  }

  /** Whether the topology runs, the writer keeps up, ClickHouse answers and the schema registry can be used. */
  public boolean ready() {
    return streams.state().isRunningOrRebalancing() && writer.healthy() && clickHouse.ping()
        && registry.trouble().isEmpty();
  }

  /** Stream threads that failed and were replaced since the start. */
  long threadFailures() {
    return threadFailures.sum();
  }

  /**
   * A failed transaction is aborted and its records are read again by the new thread: nothing is lost or counted
   * twice, and a passing outage (registry, broker) heals by itself. Under exactly_once_v2 the failed thread closes
   * its tasks dirty and their stores are restored from the changelogs, so a registry that stays unusable is retried
   * after a growing pause instead of in a loop.
   */
  private StreamThreadExceptionResponse onThreadFailure(Throwable e) {
    threadFailures.increment();
    SchemaRegistryException trouble = registryCause(e);
    if (trouble == null) {
      LOG.error("usage-stream topology failed", e);
      return StreamThreadExceptionResponse.REPLACE_THREAD;
    }
    Duration pause = registryBackoff.next();
    LOG.error("usage-stream cannot read events: the schema registry at {} cannot be used ({}); /health/ready fails, "
        + "nothing is dead-lettered for it, and the record is read again in {} s", config.registry().url(),
        trouble.getMessage(), pause.toSeconds());
    try {
      Thread.sleep(pause.toMillis());
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
    return StreamThreadExceptionResponse.REPLACE_THREAD;
  }

  private static SchemaRegistryException registryCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SchemaRegistryException registry) {
        return registry;
      }
    }
    return null;
  }

  /** 1 s doubling to 16 s while the registry stays unusable; back to 1 s once it was quiet for five minutes. */
  static final class RegistryBackoff {
    private static final Duration FIRST = Duration.ofSeconds(1);
    private static final Duration LONGEST = Duration.ofSeconds(16);
    private static final Duration QUIET = Duration.ofMinutes(5);
    private Duration current = Duration.ZERO;
    private long lastNanos;

    synchronized Duration next() {
      long now = System.nanoTime();
      boolean quiet = current.isZero() || now - lastNanos > QUIET.toNanos();
      current = quiet ? FIRST : current.multipliedBy(2).compareTo(LONGEST) > 0 ? LONGEST : current.multipliedBy(2);
      lastNanos = now;
      return current;
    }
  }

  /**
   * What only a restart cures: the writer thread ended, or Kafka Streams failed (every stream thread died) or stopped
   * while nobody closed it. A writer that is restarting its consumer, or Streams rebalancing, is alive.
   */
  Optional<String> liveProblem() {
    if (!writer.alive()) {
      return Optional.of("the ClickHouse writer thread has died (see the log)");
    }
    KafkaStreams.State state = streams.state();
    boolean failed = state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR;
    boolean stopped = !closing && (state == KafkaStreams.State.NOT_RUNNING
        || state == KafkaStreams.State.PENDING_SHUTDOWN);
    return failed || stopped ? Optional.of("Kafka Streams is " + state) : Optional.empty();
  }

  private void listen() {
    Gauge.builder("stream_clickhouse_rows_written", writer, ClickHouseWriter::rowsWritten).register(metrics);
    Gauge.builder("stream_clickhouse_insert_failures", writer, ClickHouseWriter::insertFailures).register(metrics);
    Gauge.builder("stream_writer_partitions_with_deleted_records", writer,
            ClickHouseWriter::partitionsWithDeletedRecords)
        .description("times the writer found records deleted before it read them (see the log)").register(metrics);
    Gauge.builder("stream_writer_restarts", writer, ClickHouseWriter::restarts)
        .description("times the writer replaced its consumer after a failure (see the log)").register(metrics);
    Gauge.builder("stream_dead_lettered_records", deadLettered, LongAdder::sum)
        .description("records sent to the dead-letter topic by this instance").register(metrics);
    Gauge.builder("stream_thread_failures", threadFailures, LongAdder::sum)
        .description("stream threads that failed and were replaced (see the log)").register(metrics);
    Router router = Router.router(vertx);
    OpsRoutes.mount(router, metrics, this::ready,
        Liveness.all(EventLoopWatchdog.start(vertx), this::liveProblem));
    try {
      server = vertx.createHttpServer().requestHandler(router).listen(config.httpPort(), config.httpHost())
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("usage-stream cannot listen on " + config.httpHost() + ":" + config.httpPort(), e);
    }
  }

  private void createTopics() {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers()))) {
      PipelineTopics.ensure(admin, List.of(config.eventsTopic(), config.rawEventsTopic(), config.deadLetterTopic()),
          config.eventsPartitions(), 30_000);
    }
  }


  static DayCloser.Settings closing(StreamConfig config, Admin admin) {
    return new DayCloser.Settings(config.closeBatchGroups(), DayCloser.Offsets.of(admin));
  }

  static Properties streamsProperties(StreamConfig config) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitInterval().toMillis());
    // A stream thread spends much of its time waiting for the broker (transaction commits, flushes); more threads
    // overlap those waits when there are cores to spare.
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.streamThreads());
    // No store uses Kafka Streams' record cache: the rollup store has its own (RollupStore).
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    // A record that cannot be read stops the application rather than being skipped: nothing is dropped silently.
    p.put(StreamsConfig.DEFAULT_DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndFailExceptionHandler.class);
    // lz4 by default: the raw rows compress well, and on the bench box it cost no measurable CPU per event (stream
    // JVM 27.0 against 27.1 us, broker 4.8 against 5.9 us, with and without).
    p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), config.producerCompression());
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
    // Under exactly-once Kafka Streams lowers this to 10 s. A thread starved of CPU (a loaded box, a long GC) can keep
    // a transaction open that long; the coordinator then aborts it and fences the producer, and the thread's tasks are
    // closed dirty and restore their stores from the changelogs, which a starved box does slowly again. 30 s rides
    // that out; the cost is that a transaction left open by an instance that never comes back holds up read_committed
    // readers (the writer) for up to 30 s.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 30_000);
    // After a crash the restarted instance waits for the old member's session to expire; keep that short.
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
    return p;
  }

  /** Stops the HTTP port, the topology (committing its transaction) and the writer. */
  @Override
  public void close() {
    closing = true;
    if (server != null) {
      server.close();
    }
    streams.close(java.time.Duration.ofSeconds(30));
    offsetsAdmin.close();
    writer.close();
    clickHouse.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("closing Vert.x failed", e);
    }
  }

  /** Runs usage-stream from the environment until SIGTERM or Ctrl-C. */
  public static void main(String[] args) throws InterruptedException {
    UsageStreamApp app = start(StreamConfig.fromEnv(System.getenv()));
    java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      app.close();
      stopped.countDown();
    }, "usage-stream-shutdown"));
    stopped.await();
  }
}
