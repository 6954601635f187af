package io.tallyhouse.stream.topology;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.EventRules;
import io.tallyhouse.stream.maintenance.DayCloser;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.RollupStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;

/**
 * Decodes a record. A record that can never be read (bad framing, corrupt Avro, a schema id the
 * registry answers it does not know, a schema that is not Avro, an event breaking the rollup's
 * invariants, a created_at after the record's timestamp plus the allowed skew, an event on a closed
 * day) becomes a dead letter with the reason and its source position in headers. A registry that
 * cannot be used is not the record's fault: the deserializer's {@link
 * io.tallyhouse.schemas.registry.SchemaRegistryException} propagates and the record is read again
 * after the thread restarts.
 *
 * <p>Closing days keeps the rollup store bounded ({@link DayCloser}): every minute it checks
 * whether the day of min(stream time, wall clock) - dedup window - 1 day is later than the first
 * open day; if so the days before it close at once and their groups leave the store over the
 * following steps. From then on an event of a closed day is a dead letter instead of restarting its
 * group at version 1, which would lose against the row already in ClickHouse. gateway-ingest only
 * accepts events up to the dedup window old, so only a record delayed by more than a day beyond
 * that, or written by another producer, can meet a closed day. The wall clock bounds how far one
 * record with a timestamp in the future can move the cut-off; stream time keeps a backlog being
 * worked through after an outage open.
 */
public final class Decode implements FixedKeyProcessor<String, byte[], Decoded> {
  public static final String REASON = "tallyhouse.dlq.reason";
  public static final String SOURCE = "tallyhouse.dlq.source";

  /**
   * How far created_at may be after the record's timestamp, which the broker sets when it stores
   * the record (LogAppendTime): the contract's skew plus a minute for the ingest host's clock
   * running ahead of the broker's. Dedup stores each id at its created_at, and a window store
   * forgets everything older than its latest time minus its retention, so this bound is also how
   * far one record can move the dedup store's time ahead of the broker.
   */
  static final Duration MAX_AHEAD_OF_RECORD = EventRules.MAX_FUTURE_SKEW.plusMinutes(1);

  private final Deserializer<UsageEvent> deserializer;
  private final String topic;
  private final LongAdder deadLettered;
  private final Duration dedupWindow;
  private final DayCloser.Settings closing;
  private FixedKeyProcessorContext<String, Decoded> context;
  private DayCloser closer;

  Decode(
      Deserializer<UsageEvent> deserializer,
      String topic,
      LongAdder deadLettered,
      Duration dedupWindow,
      DayCloser.Settings closing) {
    this.deserializer = deserializer;
    this.topic = topic;
    this.deadLettered = deadLettered;
    this.dedupWindow = dedupWindow;
    this.closing = closing;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Decoded> context) {
    this.context = context;
    // A new instance per (re-)initialisation: after an aborted transaction the stores are restored
    // and a pass
    // starts again from what they hold.
    this.closer =
        new DayCloser(
            dedupWindow,
            context.getStateStore(RollupStore.NAME),
            context.getStateStore(UsageTopology.CLOSED_STORE),
            closing,
            context.applicationId(),
            new TopicPartition(topic, context.taskId().partition()));
    closer.schedule(context);
  }

  @Override
  public void process(FixedKeyRecord<String, byte[]> record) {
    context.recordMetadata().ifPresent(m -> closer.processed(m.offset()));
    byte[] raw = record.value();
    String reason;
    UsageEvent event = null;
    if (raw == null) {
      reason = "empty record value";
    } else {
      try {
        event = deserializer.deserialize(topic, raw);
        reason = PoisonCheck.problem(event);
        if (reason == null
            && event.getCreatedAt().toEpochMilli() - record.timestamp()
                > MAX_AHEAD_OF_RECORD.toMillis()) {
          reason =
              "created_at "
                  + event.getCreatedAt()
                  + " is more than "
                  + MAX_AHEAD_OF_RECORD.toMinutes()
                  + " minutes after the record's timestamp "
                  + Instant.ofEpochMilli(record.timestamp())
                  + " (when the broker stored it): an event is not reported before it happens";
        }
        if (reason == null && GroupKey.utcDay(event).toEpochDay() < closer.firstOpenDay()) {
          reason =
              "created_at is on a closed UTC day (before "
                  + LocalDate.ofEpochDay(closer.firstOpenDay())
                  + "): older than usage-stream's dedup window (DEDUP_WINDOW_DAYS="
                  + dedupWindow.toDays()
                  + ") and a day, its totals are final; gateway-ingest refuses events older than its own"
                  + " DEDUP_WINDOW_DAYS, so set the same value on both";
        }
      } catch (SerializationException e) {
        reason = "cannot deserialize: " + e.getMessage();
      }
    }
    if (reason == null) {
      context.forward(record.withValue(new Decoded(event, raw)));
      return;
    }
    deadLettered.increment();
    String source =
        context
            .recordMetadata()
            .map(m -> m.topic() + "/" + m.partition() + "@" + m.offset())
            .orElse(topic);
    Headers headers = record.headers();
    headers.add(REASON, reason.getBytes(StandardCharsets.UTF_8));
    headers.add(SOURCE, source.getBytes(StandardCharsets.UTF_8));
    context.forward(record.withValue(new Decoded(null, raw)).withHeaders(headers));
  }
}
