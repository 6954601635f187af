package io.tallyhouse.stream;

import io.tallyhouse.schemas.avro.UsageEvent;
import java.time.Clock;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * events topic -> drop copies of (account_id, event_id) -> fold into per-day group totals -> rollups topic.
 *
 * <p>Under exactly_once_v2 the dedup store, the rollup store, the consumed offsets and the emitted rollups change in
 * one Kafka transaction, so a crash replays work without counting anything twice.
 */
public final class UsageTopology {

  static final String DEDUP_STORE = "dedup-store";
  static final String ROLLUP_STORE = "rollup-store";

  private UsageTopology() {}

  public static Topology build(String eventsTopic, String rollupsTopic, Duration dedupWindow,
      Serde<UsageEvent> eventSerde, Clock clock) {
    StreamsBuilder builder = new StreamsBuilder();
    // Retention covers the whole window plus a day, so a copy arriving at the window's end is still found.
    builder.addStateStore(Stores.windowStoreBuilder(
        Stores.persistentWindowStore(DEDUP_STORE, dedupWindow.plusDays(1), Duration.ofMillis(1), false),
        Serdes.String(), Serdes.Long()));
    Serde<Rollup> rollupSerde = Serdes.serdeFrom((topic, r) -> r == null ? null : r.toJson(),
        (topic, bytes) -> bytes == null ? null : Rollup.fromJson(bytes));

    builder.stream(eventsTopic, Consumed.with(Serdes.String(), eventSerde))
        .process(() -> new Dedup(dedupWindow), DEDUP_STORE)
        .selectKey((key, event) -> Rollup.groupKey(event))
        .groupByKey(Grouped.with("rollup", Serdes.String(), eventSerde))
        .aggregate(() -> Rollup.EMPTY, (key, event, totals) -> Rollup.fold(totals, event, clock.instant()),
            Materialized.<String, Rollup, KeyValueStore<Bytes, byte[]>>as(ROLLUP_STORE)
                .withKeySerde(Serdes.String()).withValueSerde(rollupSerde))
        .toStream()
        .mapValues(Rollup::toJson)
        .to(rollupsTopic, Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
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
