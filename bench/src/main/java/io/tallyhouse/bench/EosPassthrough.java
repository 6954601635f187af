package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;
import static io.tallyhouse.bench.BenchSupport.log;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.topology.StreamsProperties;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The stream's same-run peer in {@code make bench-stream}: the cheapest exactly-once topology there
 * is, a Kafka Streams application with {@code exactly_once_v2} that reads the events topic as bytes
 * (no decode) and writes each record unchanged to a topic of the same partition count.
 *
 * <p>It reads usage-stream's own settings ({@link StreamConfig}, from the same environment the
 * stream child gets) and builds its Kafka Streams properties with usage-stream's own {@link
 * StreamsProperties}: the same commit interval, stream threads, producer compression, batch size
 * and timeouts, and the same {@code KAFKA_STREAMS_*} properties, so the two cannot drift apart and
 * the difference between their figures is the work of usage-stream's topology.
 *
 * <p>{@link #main} runs in a child JVM of its own until SIGTERM; {@link #measure} runs in the
 * benchmark's JVM and times it as the stream is timed.
 */
final class EosPassthrough {

  /** Its application id: a consumer group, transactional ids and state of its own. */
  static final String APPLICATION_ID = "bench-eos-passthrough";

  /** Where it writes; nothing of usage-stream reads this topic. */
  static final String OUTPUT_TOPIC = "bench-eos-passthrough-out";

  private EosPassthrough() {}

  /** The topology: every record of {@code input} to {@code output} as it is. */
  static Topology topology(String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
        .to(output, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
    return builder.build();
  }

  /**
   * Kafka Streams' properties of the peer: usage-stream's, for {@code config} and the events
   * topic's {@code eventsPartitions}, with the peer's application id.
   */
  static Properties properties(StreamConfig config, int eventsPartitions) {
    return config
        .kafka()
        .streams(
            StreamsProperties.of(
                APPLICATION_ID,
                config.stateDir(),
                config.commitInterval(),
                config.streamThreads(eventsPartitions),
                config.producerCompression()));
  }

  /**
   * Copies the events topic to {@link #OUTPUT_TOPIC} until SIGTERM. The environment is
   * usage-stream's.
   */
  public static void main(String[] args) throws Exception {
    StreamConfig config = ServiceMain.read(System.getenv(), StreamConfig::read);
    int partitions;
    try (Admin admin = Admin.create(config.kafka().admin())) {
      partitions =
          PipelineTopics.ensure(
                  admin,
                  List.of(config.eventsTopic(), OUTPUT_TOPIC),
                  config.eventsPartitions(),
                  30_000)
              .get(config.eventsTopic());
    }
    Properties properties = properties(config, partitions);
    KafkaStreams streams =
        new KafkaStreams(topology(config.eventsTopic(), OUTPUT_TOPIC), properties);
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean failed = new AtomicBoolean();
    streams.setUncaughtExceptionHandler(
        e -> {
          // The benchmark sees the JVM gone and prints this log.
          e.printStackTrace();
          failed.set(true);
          stopped.countDown();
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(30));
                  stopped.countDown();
                }));
    log(
        String.format(
            "eos passthrough %s -> %s: %d partitions, %s stream threads, commit interval %s ms,"
                + " compression %s",
            config.eventsTopic(),
            OUTPUT_TOPIC,
            partitions,
            properties.get("num.stream.threads"),
            properties.get("commit.interval.ms"),
            properties.get("producer.compression.type")));
    streams.start();
    stopped.await();
    if (failed.get()) {
      System.exit(1);
    }
  }

  /**
   * Creates the peer's output topic with {@code partitions} (the events topic's), starts the peer
   * with {@code env} (usage-stream's environment), times it and stops it. The clock starts once
   * {@code warmup} records are visible to a {@code read_committed} consumer of its output topic
   * (its JIT warm-up excluded, as the stream's is) and stops when {@code warmup + events} are. Over
   * that interval it takes the CPU time of the peer JVM and of this JVM (the broker, and this
   * counting consumer) and the machine's busy share.
   *
   * @return {@code events_per_s}, {@code cpu_busy_pct} and {@code cpu_us_per_event} ({@code peer},
   *     {@code broker_and_bench})
   */
  static ObjectNode measure(
      Map<String, String> env,
      String bootstrapServers,
      int partitions,
      Path dir,
      long warmup,
      long events)
      throws Exception {
    BenchSupport.createTopic(
        Map.of("bootstrap.servers", bootstrapServers), OUTPUT_TOPIC, partitions);
    Path logFile = dir.resolve("eos-passthrough.log");
    Process peer = ChildJvm.start(EosPassthrough.class.getName(), env, logFile);
    Map<String, Object> consumerProperties =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrapServers,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            IsolationLevel.READ_COMMITTED.toString(),
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            false,
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
            10_000);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            consumerProperties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> output =
          consumer.partitionsFor(OUTPUT_TOPIC).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      consumer.assign(output);
      consumer.seekToBeginning(output);
      List<ProcessHandle> processes = List.of(peer.toHandle(), ProcessHandle.current());
      long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
      long visible = 0;
      long start = 0;
      long[] cpuBefore = null;
      long[] machineBefore = null;
      long nextProgress = System.nanoTime();
      while (visible < warmup + events) {
        if (!peer.isAlive()) {
          throw new IllegalStateException(
              "the eos passthrough peer exited:\n" + Files.readString(logFile));
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "the eos passthrough peer copied only " + visible + " records in time");
        }
        visible += consumer.poll(Duration.ofMillis(100)).count();
        if (cpuBefore == null && visible >= warmup) {
          if (visible >= warmup + events) {
            throw new IllegalStateException(
                "the warm-up and the measured records became visible in one poll: raise"
                    + " bench.events");
          }
          log("  peer warm-up: " + visible + " records visible; measuring the next " + events);
          cpuBefore = StreamBench.cpuNanos(processes);
          machineBefore = BenchSupport.machineCpuTicks();
          start = System.nanoTime();
        }
        if (System.nanoTime() >= nextProgress) {
          nextProgress += Duration.ofSeconds(5).toNanos();
          log("  peer: " + visible + " records visible");
        }
      }
      long end = System.nanoTime();
      long[] cpuAfter = StreamBench.cpuNanos(processes);
      double busy = BenchSupport.busyPercent(machineBefore, BenchSupport.machineCpuTicks());
      ObjectNode cpuPerEvent = JSON.createObjectNode();
      String[] names = {"peer", "broker_and_bench"};
      for (int i = 0; i < names.length; i++) {
        cpuPerEvent.put(
            names[i], Math.round((cpuAfter[i] - cpuBefore[i]) / 1e3 / events * 10) / 10.0);
      }
      ObjectNode result = JSON.createObjectNode();
      result.put("events_per_s", Math.round(events / ((end - start) / 1e9)));
      result.put("cpu_busy_pct", Math.round(busy));
      result.set("cpu_us_per_event", cpuPerEvent);
      return result;
    } finally {
      peer.destroy();
      if (!peer.waitFor(60, TimeUnit.SECONDS)) {
        peer.destroyForcibly().waitFor();
      }
    }
  }
}
