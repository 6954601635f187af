package io.tallyhouse.stream;

import io.tallyhouse.schemas.contract.EventRules;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * events topic -> dead-letter what cannot be counted -> drop copies of (account_id, event_id) -> each distinct event
 * to the raw topic and into its group's running totals in the rollup store.
 *
 * <p>There is no repartition: every task keeps the totals of the events of its own partition, and the ClickHouse
 * writer reads the rollup store's changelog, which the store's cache writes once per changed group and commit.
 * usage_daily therefore holds one row per group and partition ({@code shard}), and readers sum them. Each event is
 * written to Kafka twice (the dedup changelog and the raw topic) instead of five times.
 *
 * <p>Under exactly_once_v2 the dedup store, the rollup store and its changelog, the raw topic and the consumed
 * offsets change in one Kafka transaction, so a crash replays work without counting anything twice.
 */
public final class UsageTopology {

  static final String DEDUP_STORE = "dedup-store";
  /** Named apart from the repartitioned global totals of earlier versions, whose changelog held another format. */
  static final String ROLLUP_STORE = "rollup-partials";
  /** Which UTC days are closed, and which of them have left the rollup store ({@link DayCloser}). */
  static final String CLOSED_STORE = "closed-days";

  private UsageTopology() {}

  /** Topic names of one topology. */
  public record Topics(String events, String rawEvents, String deadLetters) {}

  /** The topic the writer reads the rollups from: the rollup store's changelog (key group, value {@link Totals}). */
  public static String rollupsTopic(String applicationId) {
    return applicationId + "-" + ROLLUP_STORE + "-changelog";
  }

  /**
   * events -> decode (poison to the dead-letter topic) -> dedup -> distinct events to the raw topic, and their
   * per-group running totals into the rollup store.
   */
  public static Topology build(Topics topics, Duration dedupWindow, int rollupCacheGroups,
      DayCloser.Settings closing, Deserializer<UsageEvent> deserializer, LongAdder deadLettered) {
    StreamsBuilder builder = new StreamsBuilder();
    // Retention covers the whole window plus two days: every event on a day that is not closed (see Decode) is
    // younger than that, so a copy of it is still found.
    builder.addStateStore(Stores.windowStoreBuilder(
        Stores.persistentWindowStore(DEDUP_STORE, dedupWindow.plusDays(2), Duration.ofMillis(1), false),
        Serdes.String(), Serdes.Long()));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(CLOSED_STORE), Serdes.String(),
        Serdes.Long()));
    // Its cache turns an update per event into one changelog record per changed group and commit.
    builder.addStateStore(RollupStore.builder(ROLLUP_STORE, rollupCacheGroups));

    // Records are read as bytes and decoded here, so an unreadable one becomes a dead letter inside the same
    // transaction instead of stopping the application or vanishing.
    Map<String, KStream<String, Decoded>> branches = builder.stream(topics.events(),
            Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .processValues(() -> new Decode(deserializer, topics.events(), deadLettered, dedupWindow, closing),
            ROLLUP_STORE,
            CLOSED_STORE)
        .split(Named.as("decoded-"))
        .branch((key, decoded) -> decoded.event() == null, Branched.as("poison"))
        .defaultBranch(Branched.as("events"));
    branches.get("decoded-poison")
        .mapValues(Decoded::raw)
        .to(topics.deadLetters(), Produced.with(Serdes.String(), Serdes.ByteArray()));

    branches.get("decoded-events")
        .mapValues(Decoded::event)
        .process(() -> new Dedup(dedupWindow), DEDUP_STORE)
        .processValues(Count::new, ROLLUP_STORE)
        .to(topics.rawEvents(), Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
  }

  /** Folds a distinct event into its group's totals and passes it on as its usage_events row. */
  static final class Count implements FixedKeyProcessor<String, UsageEvent, byte[]> {
    private FixedKeyProcessorContext<String, byte[]> context;
    private RollupStore totals;

    @Override
    public void init(FixedKeyProcessorContext<String, byte[]> context) {
      this.context = context;
      this.totals = context.getStateStore(ROLLUP_STORE);
    }

    @Override
    public void process(FixedKeyRecord<String, UsageEvent> record) {
      UsageEvent event = record.value();
      totals.add(event);
      context.forward(record.withValue(RawEventRow.toRow(event)));
    }
  }

  /** A decoded event, or (event null) the original bytes of a poison record. */
  record Decoded(UsageEvent event, byte[] raw) {}

  /**
   * Decodes a record. A record that can never be read (bad framing, corrupt Avro, a schema id the registry answers
   * it does not know, a schema that is not Avro, an event breaking the rollup's invariants, a created_at after the
   * record's timestamp plus the allowed skew, an event on a closed day) becomes a dead letter with the reason and its
   * source position in headers. A registry that cannot be used is not the record's fault: the deserializer's
   * {@link io.tallyhouse.schemas.registry.SchemaRegistryException} propagates and the record is read again after
   * the thread restarts.
   *
   * <p>Closing days keeps the rollup store bounded ({@link DayCloser}): every minute it checks whether the day of
   * min(stream time, wall clock) - dedup window - 1 day is later than the first open day; if so the days before it
   * close at once and their groups leave the store over the following steps. From then on an event of a closed day
   * is a dead letter instead of restarting its group at version 1, which would lose against the row already in
   * ClickHouse. gateway-ingest only accepts events up to the dedup window old, so only a record delayed by more than
   * a day beyond that, or written by another producer, can meet a closed day. The wall clock bounds how far one
   * record with a timestamp in the future can move the cut-off; stream time keeps a backlog being worked through
   * after an outage open.
   */
  static final class Decode implements FixedKeyProcessor<String, byte[], Decoded> {
    static final String REASON = "tallyhouse.dlq.reason";
    static final String SOURCE = "tallyhouse.dlq.source";
    /**
     * How far created_at may be after the record's timestamp, which the broker sets when it stores the record
     * (LogAppendTime): the contract's skew plus a minute for the ingest host's clock running ahead of the broker's.
     * Dedup stores each id at its created_at, and a window store forgets everything older than its latest time minus
     * its retention, so this bound is also how far one record can move the dedup store's time ahead of the broker.
     */
    static final Duration MAX_AHEAD_OF_RECORD = EventRules.MAX_FUTURE_SKEW.plusMinutes(1);

    private final Deserializer<UsageEvent> deserializer;
    private final String topic;
    private final LongAdder deadLettered;
    private final Duration dedupWindow;
    private final DayCloser.Settings closing;
    private FixedKeyProcessorContext<String, Decoded> context;
    private DayCloser closer;

    Decode(Deserializer<UsageEvent> deserializer, String topic, LongAdder deadLettered, Duration dedupWindow,
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
      // A new instance per (re-)initialisation: after an aborted transaction the stores are restored and a pass
      // starts again from what they hold.
      this.closer = new DayCloser(dedupWindow, context.getStateStore(ROLLUP_STORE),
          context.getStateStore(CLOSED_STORE), closing, context.applicationId(),
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
          if (reason == null && event.getCreatedAt().toEpochMilli() - record.timestamp()
              > MAX_AHEAD_OF_RECORD.toMillis()) {
            reason = "created_at " + event.getCreatedAt() + " is more than " + MAX_AHEAD_OF_RECORD.toMinutes()
                + " minutes after the record's timestamp " + Instant.ofEpochMilli(record.timestamp())
                + " (when the broker stored it): an event is not reported before it happens";
          }
          if (reason == null && Rollup.utcDay(event).toEpochDay() < closer.firstOpenDay()) {
            reason = "created_at is on a closed UTC day (before " + LocalDate.ofEpochDay(closer.firstOpenDay())
                + "): older than the dedup window and a day, its totals are final";
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
      String source = context.recordMetadata()
          .map(m -> m.topic() + "/" + m.partition() + "@" + m.offset()).orElse(topic);
      Headers headers = record.headers();
      headers.add(REASON, reason.getBytes(StandardCharsets.UTF_8));
      headers.add(SOURCE, source.getBytes(StandardCharsets.UTF_8));
      context.forward(record.withValue(new Decoded(null, raw)).withHeaders(headers));
    }
  }

  /** Forwards the first copy of each (account_id, event_id) seen within the dedup window, drops the others. */
  static final class Dedup implements Processor<String, UsageEvent, String, UsageEvent> {
    private final long windowMillis;
    private WindowStore<String, Long> seen;
    private ProcessorContext<String, UsageEvent> context;

    Dedup(Duration window) {
      this.windowMillis = window.toMillis();
    }

    @Override
    public void init(ProcessorContext<String, UsageEvent> context) {
      this.context = context;
      this.seen = context.getStateStore(DEDUP_STORE);
    }

    @Override
    public void process(Record<String, UsageEvent> record) {
      UsageEvent event = record.value();
      if (event == null) {
        return;
      }
      // The identity comes from the event itself, not from the record key a producer chose.
      String id = event.getAccountId() + "/" + event.getEventId();
      long createdAt = event.getCreatedAt().toEpochMilli();
      try (WindowStoreIterator<Long> copies = seen.fetch(id, createdAt - windowMillis, createdAt + windowMillis)) {
        if (copies.hasNext()) {
          return;
        }
      }
      seen.put(id, createdAt, createdAt);
      context.forward(record.withKey(id));
    }
  }
}
