package io.tallyhouse.ingest;

import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes events to the events topic as Confluent-framed Avro with an idempotent, acks=all producer.
 *
 * <p>The record key is {@code account_id + "/" + event_id}: every copy of an event hashes to the same partition, so
 * the stream's per-partition dedup store sees all of them, while one busy API key or account still spreads over all
 * partitions. The record is stamped when written (LogAppendTime, see PipelineTopics).
 *
 * <p>{@code producer.send} blocks its caller while the producer has no metadata for the topic (the first send, or
 * the first after the topic went unused for {@code metadata.max.idle.ms}) or no buffer space, up to
 * {@code max.block.ms}. So no request thread ever calls it: every send is handed to one sender thread through a
 * bounded queue. When a send times out there, every request queued behind it fails at once instead of waiting as
 * long again, and a request that waited in the queue past its deadline fails without being sent.
 */
final class EventPublisher implements AutoCloseable {

  static final int SENDER_QUEUE = 100_000;

  private final IngestConfig config;
  private final KafkaProducer<String, byte[]> producer;
  private final Serializer<UsageEvent> serializer;
  private final Admin admin;
  private final SchemaRegistryClient registry;
  private final ThreadPoolExecutor sender;
  private final long timeoutNanos;

  EventPublisher(IngestConfig config, SchemaRegistryClient registry) {
    this.config = config;
    this.registry = registry;
    this.serializer = UsageEventSerde.serializer(registry);
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    // Larger than the in-flight request bytes the server admits (Avro is smaller than the JSON it came from), so
    // send() never waits for buffer space, even on an event loop.
    props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(64L * 1024 * 1024, 2 * config.maxInFlightBytes()));
    long timeout = config.publishTimeout().toMillis();
    // The producer itself gives up at the publish deadline, so a request answered 503 has no record left that
    // could still be written later: the answer waits for Kafka's verdict on every record, never for a timer.
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeout);
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(500, timeout - 10));
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // send() blocks (the sender thread only) while metadata is missing or the buffer is full, at most this long.
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
    props.putAll(config.producerOverrides());
    this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeout);
    // The queue holds at most one task per request in flight (MAX_IN_FLIGHT_BYTES bounds those); its bound is a guard.
    this.sender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(SENDER_QUEUE),
        runnable -> {
          Thread thread = new Thread(runnable, "gateway-ingest-kafka-sender");
          thread.setDaemon(true);
          return thread;
        });
    this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers(),
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(timeout, 30_000)));
  }

  /** Creates the events topic when it is missing and registers the event schema, so requests never wait on that. */
  void prepare() {
    PipelineTopics.ensure(admin, List.of(config.eventsTopic()), config.eventsPartitions(),
        config.publishTimeout().toMillis());
  }

  /**
   * Registers the event schema under {@code <topic>-value} now, so no request waits on the registry, after making
   * the subject itself BACKWARD compatible (CONTRACT.md section 1), which is what a Confluent client reads there.
   */
  void publishSchema() {
    String subject = config.eventsTopic() + "-value";
    registry.requireBackwardCompatibility(subject);
    registry.register(subject, UsageEvent.getClassSchema());
  }

  /**
   * Serializes every event first (so a registry failure sends nothing), then queues them for the sender thread; the
   * future completes when Kafka acknowledged every one (acks=all), or fails with the first error. It never blocks.
   */
  CompletableFuture<Integer> publish(List<UsageEvent> events) {
    List<ProducerRecord<String, byte[]>> records = new ArrayList<>(events.size());
    for (UsageEvent event : events) {
      byte[] value = serializer.serialize(config.eventsTopic(), event);
      // No event-time timestamp: the record is stamped when written (PipelineTopics), so retention counts from
      // acceptance and a late event cannot fall out of the topic before the stream reads it.
      records.add(new ProducerRecord<>(config.eventsTopic(), event.getAccountId() + "/" + event.getEventId(), value));
    }
    Send send = new Send(records, new CompletableFuture<>(), System.nanoTime() + timeoutNanos);
    try {
      sender.execute(send);
    } catch (RejectedExecutionException e) {
      send.acknowledged.completeExceptionally(new TimeoutException("too many requests are waiting for Kafka"));
    }
    return send.acknowledged;
  }

  /** One request's records, sent in order by the sender thread. */
  private final class Send implements Runnable {
    final List<ProducerRecord<String, byte[]>> records;
    final CompletableFuture<Integer> acknowledged;
    final long deadlineNanos;

    Send(List<ProducerRecord<String, byte[]>> records, CompletableFuture<Integer> acknowledged, long deadlineNanos) {
      this.records = records;
      this.acknowledged = acknowledged;
      this.deadlineNanos = deadlineNanos;
    }

    @Override
    public void run() {
      if (System.nanoTime() - deadlineNanos > 0) {
        acknowledged.completeExceptionally(new TimeoutException("the request waited for Kafka past its deadline"));
        return;
      }
      int[] pending = {records.size()};
      try {
        for (ProducerRecord<String, byte[]> record : records) {
          Future<RecordMetadata> sent = producer.send(record, (metadata, error) -> {
            if (error != null) {
              acknowledged.completeExceptionally(error);
              return;
            }
            synchronized (pending) {
              if (--pending[0] == 0) {
                acknowledged.complete(records.size());
              }
            }
          });
          if (timedOutInSend(sent)) {
            failQueued();
            return;
          }
        }
      } catch (RuntimeException e) {
        // A producer that is closing throws instead of calling back; the request must still get its answer.
        acknowledged.completeExceptionally(e);
      }
    }
  }

  /** Whether send() itself gave up (no metadata or no buffer space within max.block.ms), not a later delivery. */
  private static boolean timedOutInSend(Future<RecordMetadata> sent) {
    if (!sent.isDone()) {
      return false;
    }
    try {
      sent.get();
      return false;
    } catch (ExecutionException e) {
      return e.getCause() instanceof TimeoutException;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Kafka just could not take a record in time: every request queued now would wait as long again, so it fails. */
  private void failQueued() {
    List<Runnable> queued = new ArrayList<>();
    sender.getQueue().drainTo(queued);
    for (Runnable r : queued) {
      ((Send) r).acknowledged.completeExceptionally(new TimeoutException("Kafka could not take a write in time"));
    }
  }

  /** Whether the cluster answers. */
  boolean ready() {
    try {
      admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000)).clusterId().get(3, TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return false;
    }
  }

  /** Flushes what was accepted for sending, so no request that got 202 depends on an unsent buffer. */
  @Override
  public void close() {
    sender.shutdown();
    try {
      sender.awaitTermination(timeoutNanos + TimeUnit.SECONDS.toNanos(5), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.flush();
    producer.close();
    admin.close();
  }
}
