package io.tallyhouse.ingest.publish;

import io.tallyhouse.common.kafka.ClusterCheck;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes events to the events topic as Confluent-framed Avro with an idempotent, acks=all producer,
 * through the one {@link SenderThread}; it also prepares the topic and the schema and says whether
 * Kafka answers.
 *
 * <p>The record key is {@code account_id + "/" + event_id}: every copy of an event hashes to the
 * same partition, so the stream's per-partition dedup store sees all of them, while one busy API
 * key or account still spreads over all partitions. The record is stamped when written
 * (LogAppendTime, see PipelineTopics).
 */
public final class EventPublisher implements AutoCloseable {

  private final PublishSettings settings;
  private final KafkaProducer<String, byte[]> producer;
  private final Serializer<UsageEvent> serializer;
  private final Admin admin;
  private final SchemaRegistryClient registry;
  private final SenderThread sender;

  public EventPublisher(PublishSettings settings, SchemaRegistryClient registry) {
    this.settings = settings;
    this.registry = registry;
    this.serializer = UsageEventSerde.serializer(registry);
    this.producer =
        new KafkaProducer<>(
            settings.producerProperties(), new StringSerializer(), new ByteArraySerializer());
    this.sender = new SenderThread(producer, settings.timeout().toNanos());
    this.admin = Admin.create(settings.adminProperties());
  }

  /** Creates the events topic when it is missing, so requests never wait on that. */
  public void prepare() {
    PipelineTopics.ensure(
        admin, List.of(settings.topic()), settings.partitions(), settings.timeout().toMillis());
  }

  /**
   * Registers the event schema under {@code <topic>-value} at start, so no request waits on the
   * registry, after making the subject itself BACKWARD compatible (CONTRACT.md section 1), which is
   * what a Confluent client reads there.
   */
  public void publishSchema() {
    String subject = settings.topic() + "-value";
    registry.requireBackwardCompatibility(subject);
    registry.register(subject, UsageEvent.getClassSchema());
  }

  /**
   * Serializes every event first (so a registry failure sends nothing), then queues them for the
   * sender thread; the future completes when Kafka acknowledged every one (acks=all), or fails with
   * the first error. It never blocks.
   */
  public CompletableFuture<Integer> publish(List<UsageEvent> events) {
    List<ProducerRecord<String, byte[]>> records = new ArrayList<>(events.size());
    for (UsageEvent event : events) {
      byte[] value = serializer.serialize(settings.topic(), event);
      // No event-time timestamp: the record is stamped when written (PipelineTopics), so retention
      // counts from
      // acceptance and a late event cannot fall out of the topic before the stream reads it.
      records.add(
          new ProducerRecord<>(
              settings.topic(), event.getAccountId() + "/" + event.getEventId(), value));
    }
    return sender.send(records);
  }

  /** Whether the cluster answers. */
  public boolean ready() {
    return ClusterCheck.answers(admin);
  }

  /**
   * Flushes what was accepted for sending, so no request that got 202 depends on an unsent buffer.
   */
  @Override
  public void close() {
    sender.close();
    producer.flush();
    producer.close();
    admin.close();
  }
}
