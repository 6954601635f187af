package io.tallyhouse.stream.topology;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.stream.maintenance.DayCloser;
import io.tallyhouse.stream.rollup.RollupStore;
import io.tallyhouse.stream.rows.DistinctEventRow;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
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
 * events topic -> dead-letter what cannot be counted -> drop copies of (account_id, event_id) ->
 * each distinct event to the distinct events topic and into its group's running totals in the
 * rollup store.
 *
 * <p>There is no repartition: every task keeps the totals of the events of its own partition, and
 * the ClickHouse writer reads the rollup store's changelog, which the store's cache writes once per
 * changed group and commit. usage_daily therefore holds one row per group and partition ({@code
 * shard}), and readers sum them. Each event is written to Kafka twice (the dedup changelog and the
 * distinct events topic) instead of five times.
 *
 * <p>Under exactly_once_v2 the dedup store, the rollup store and its changelog, the distinct events
 * topic and the consumed offsets change in one Kafka transaction, so a crash replays work without
 * counting anything twice.
 */
public final class UsageTopology {

  public static final String DEDUP_STORE = "dedup-store";

  /**
   * Which UTC days are closed, and which of them have left the rollup store ({@link DayCloser}).
   */
  public static final String CLOSED_STORE = "closed-days";

  private UsageTopology() {}

  /** Topic names of one topology. */
  public record Topics(String events, String distinctEvents, String deadLetters) {}

  /**
   * events -> decode (poison to the dead-letter topic) -> dedup -> each distinct event to the
   * distinct events topic, and their per-group running totals into the rollup store.
   */
  public static Topology build(
      Topics topics,
      Duration dedupWindow,
      int rollupCacheGroups,
      DayCloser.Settings closing,
      Deserializer<UsageEvent> deserializer,
      LongAdder deadLettered) {
    StreamsBuilder builder = new StreamsBuilder();
    // Retention covers the whole window plus two days: every event on a day that is not closed (see
    // Decode) is
    // younger than that, so a copy of it is still found.
    builder.addStateStore(
        Stores.windowStoreBuilder(
            Stores.persistentWindowStore(
                DEDUP_STORE, dedupWindow.plusDays(2), Duration.ofMillis(1), false),
            Serdes.String(),
            Serdes.Long()));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(CLOSED_STORE), Serdes.String(), Serdes.Long()));
    // Its cache turns an update per event into one changelog record per changed group and commit.
    builder.addStateStore(RollupStore.builder(RollupStore.NAME, rollupCacheGroups));

    // Records are read as bytes and decoded here, so an unreadable one becomes a dead letter inside
    // the same
    // transaction instead of stopping the application or vanishing.
    Map<String, KStream<String, Decoded>> branches =
        builder.stream(topics.events(), Consumed.with(Serdes.String(), Serdes.ByteArray()))
            .processValues(
                () -> new Decode(deserializer, topics.events(), deadLettered, dedupWindow, closing),
                RollupStore.NAME,
                CLOSED_STORE)
            .split(Named.as("decoded-"))
            .branch((key, decoded) -> decoded.event() == null, Branched.as("poison"))
            .defaultBranch(Branched.as("events"));
    branches
        .get("decoded-poison")
        .mapValues(Decoded::raw)
        .to(topics.deadLetters(), Produced.with(Serdes.String(), Serdes.ByteArray()));

    branches
        .get("decoded-events")
        .mapValues(Decoded::event)
        .process(() -> new Dedup(dedupWindow), DEDUP_STORE)
        .processValues(Count::new, RollupStore.NAME)
        .to(topics.distinctEvents(), Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
  }

  /** Folds a distinct event into its group's totals and passes it on as its usage_events row. */
  static final class Count implements FixedKeyProcessor<String, UsageEvent, byte[]> {
    private FixedKeyProcessorContext<String, byte[]> context;
    private RollupStore totals;

    @Override
    public void init(FixedKeyProcessorContext<String, byte[]> context) {
      this.context = context;
      this.totals = context.getStateStore(RollupStore.NAME);
    }

    @Override
    public void process(FixedKeyRecord<String, UsageEvent> record) {
      UsageEvent event = record.value();
      totals.add(event);
      context.forward(record.withValue(DistinctEventRow.toRow(event)));
    }
  }

  /**
   * Forwards the first copy of each (account_id, event_id) seen within the dedup window, drops the
   * others.
   */
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
      try (WindowStoreIterator<Long> copies =
          seen.fetch(id, createdAt - windowMillis, createdAt + windowMillis)) {
        if (copies.hasNext()) {
          return;
        }
      }
      seen.put(id, createdAt, createdAt);
      context.forward(record.withKey(id));
    }
  }
}
