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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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

  /**
   * Its warm-up pass: the same topology under an application id and output topic of their own, over
   * every record of the events topic, before the measured pass starts in the same JVM. At the
   * peer's speed the measured pass's first {@code bench.warmup.events} take about 2 s, too little
   * for the JIT (the stream's take about 20 s), and runs of the same code varied by a factor of
   * two.
   */
  static final String WARMUP_APPLICATION_ID = APPLICATION_ID + "-warmup";

  static final String WARMUP_OUTPUT_TOPIC = OUTPUT_TOPIC + "-warmup";

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
    return properties(config, eventsPartitions, APPLICATION_ID);
  }

  private static Properties properties(
      StreamConfig config, int eventsPartitions, String applicationId) {
    return config
        .kafka()
        .streams(
            StreamsProperties.of(
                applicationId,
                config.stateDir(),
                config.commitInterval(),
                config.streamThreads(eventsPartitions),
                config.producerCompression()));
  }

  /**
   * Copies every record of the events topic to {@link #WARMUP_OUTPUT_TOPIC} (the warm-up pass,
   * stopped once all are visible), then copies it again to {@link #OUTPUT_TOPIC} until SIGTERM (the
   * measured pass). The environment is usage-stream's.
   */
  public static void main(String[] args) throws Exception {
    StreamConfig config = ServiceMain.read(System.getenv(), StreamConfig::read);
    int partitions;
    try (Admin admin = Admin.create(config.kafka().admin())) {
      partitions =
          PipelineTopics.ensure(
                  admin,
                  List.of(config.eventsTopic(), WARMUP_OUTPUT_TOPIC, OUTPUT_TOPIC),
                  config.eventsPartitions(),
                  30_000)
              .get(config.eventsTopic());
    }
    KafkaStreams warmup = start(config, partitions, WARMUP_APPLICATION_ID, WARMUP_OUTPUT_TOPIC);
    try (KafkaConsumer<byte[], byte[]> events =
            consumer(config.kafka().consumer(Map.of()), IsolationLevel.READ_UNCOMMITTED);
        KafkaConsumer<byte[], byte[]> copied =
            consumer(config.kafka().consumer(Map.of()), IsolationLevel.READ_COMMITTED)) {
      // gateway-ingest's producer is idempotent, not transactional: the offsets are the records.
      List<TopicPartition> input = assignFromStart(events, config.eventsTopic());
      long records = 0;
      Map<TopicPartition, Long> begin = events.beginningOffsets(input);
      for (Map.Entry<TopicPartition, Long> end : events.endOffsets(input).entrySet()) {
        records += end.getValue() - begin.get(end.getKey());
      }
      assignFromStart(copied, WARMUP_OUTPUT_TOPIC);
      long visible = 0;
      long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
      while (visible < records) {
        if (System.nanoTime() > deadline || warmup.state() == KafkaStreams.State.ERROR) {
          throw new IllegalStateException(
              "the warm-up pass copied " + visible + " of " + records + " records in time");
        }
        visible += copied.poll(Duration.ofMillis(100)).count();
      }
      log("eos passthrough warm-up pass: " + records + " records copied; the measured pass starts");
    }
    warmup.close(Duration.ofSeconds(30));
    KafkaStreams streams = start(config, partitions, APPLICATION_ID, OUTPUT_TOPIC);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(30));
                  stopped.countDown();
                }));
    stopped.await();
  }

  /** Starts the topology from the events topic to {@code output} under {@code applicationId}. */
  private static KafkaStreams start(
      StreamConfig config, int partitions, String applicationId, String output) {
    Properties properties = properties(config, partitions, applicationId);
    KafkaStreams streams = new KafkaStreams(topology(config.eventsTopic(), output), properties);
    streams.setUncaughtExceptionHandler(
        e -> {
          // The benchmark sees the JVM gone and prints this log.
          e.printStackTrace();
          Runtime.getRuntime().halt(1);
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    log(
        String.format(
            "eos passthrough %s -> %s (%s): %d partitions, %s stream threads, commit interval %s"
                + " ms, compression %s",
            config.eventsTopic(),
            output,
            applicationId,
            partitions,
            properties.get("num.stream.threads"),
            properties.get("commit.interval.ms"),
            properties.get("producer.compression.type")));
    streams.start();
    return streams;
  }

  /** A consumer without a group that counts records of {@code isolation}, 10 000 per poll. */
  private static KafkaConsumer<byte[], byte[]> consumer(
      Map<String, Object> client, IsolationLevel isolation) {
    Map<String, Object> properties = new HashMap<>(client);
    properties.remove(ConsumerConfig.GROUP_ID_CONFIG);
    properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation.toString());
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000);
    return new KafkaConsumer<>(
        properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static List<TopicPartition> assignFromStart(
      KafkaConsumer<byte[], byte[]> consumer, String topic) {
    List<TopicPartition> partitions =
        consumer.partitionsFor(topic).stream()
            .map(p -> new TopicPartition(p.topic(), p.partition()))
            .toList();
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    return partitions;
  }

  /**
   * Creates the peer's output topic with {@code partitions} (the events topic's), starts the peer
   * with {@code env} (usage-stream's environment), times its measured pass (after its warm-up pass)
   * and stops it. The clock starts once {@code warmup} records are visible to a {@code
   * read_committed} consumer of its output topic and stops when {@code warmup + events} are. Over
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
    try (KafkaConsumer<byte[], byte[]> consumer =
        consumer(
            Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers),
            IsolationLevel.READ_COMMITTED)) {
      assignFromStart(consumer, OUTPUT_TOPIC);
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
          cpuBefore = BenchSupport.cpuNanos(processes);
          machineBefore = BenchSupport.machineCpuTicks();
          start = System.nanoTime();
        }
        if (System.nanoTime() >= nextProgress) {
          nextProgress += Duration.ofSeconds(5).toNanos();
          log("  peer: " + visible + " records visible");
        }
      }
      long end = System.nanoTime();
      long[] cpuAfter = BenchSupport.cpuNanos(processes);
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
