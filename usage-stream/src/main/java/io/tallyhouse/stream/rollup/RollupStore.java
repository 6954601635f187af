package io.tallyhouse.stream.rollup;

import io.tallyhouse.schemas.avro.UsageEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.internals.CacheFlushListener;
import org.apache.kafka.streams.state.internals.CachedStateStore;

/**
 * One stream task's running totals per group: a logged RocksDB store (its changelog is the rollups
 * topic the writer reads; key the group key's UTF-8 bytes, value {@link GroupTotals#toBytes})
 * behind a cache of the totals as objects ({@link RunningTotals}).
 *
 * <p>Why not Kafka Streams' record cache: it keeps serialized entries in one sorted map per thread,
 * sized in bytes. A task holds over 100 000 groups and most events touch a group that is not in a
 * cache of a few MiB, so every event would pay a RocksDB read (a memtable skip-list search), a
 * decode, an encode and two sorted-map walks (what that cost in the benchmark: bench/README.md,
 * "usage-stream"). Here a hit is one hash lookup and some additions, and the cache can hold the
 * day's groups.
 *
 * <p>Exactly once rests on one call: Kafka Streams flushes the cache of every {@link
 * CachedStateStore} before it flushes the producer and commits the transaction ({@code
 * StreamTask.prepareCommit}). {@link #flushCache} writes every changed group's totals into the
 * inner store, whose changelog records join that transaction, as the record cache's flush does. An
 * aborted transaction is followed by restoring the store from the changelog into a new store
 * instance, or by {@link #init} of this one, which drops the cache. Groups leave the cache only
 * right after a flush, so nothing changed is ever dropped.
 *
 * <p>CachedStateStore is an internal interface of Kafka Streams, so tests on the real broker hold
 * it to this: {@code RollupStoreIntegrationTest} (a commit carries every changed group's totals)
 * and {@code StreamFailureIntegrationTest} (SIGKILL and restarts with a cache smaller than the
 * groups lose nothing).
 */
public final class RollupStore implements StateStore, CachedStateStore<String, GroupTotals> {

  /**
   * The store's name, which names its changelog: kept apart from any store whose changelog held
   * another format.
   */
  public static final String NAME = "rollup-partials";

  /** What a cached group costs on the heap, rounded up (bench/README.md, "usage-stream"). */
  public static final long BYTES_PER_CACHED_GROUP = 500;

  /**
   * The store's changelog, the rollups topic the writer reads (key group, value {@link
   * GroupTotals}).
   */
  public static String changelogTopic(String applicationId) {
    return applicationId + "-" + NAME + "-changelog";
  }

  private final KeyValueStore<Bytes, byte[]> inner;
  private final int maxGroups;
  private final Map<String, RunningTotals> cache = new HashMap<>();

  /** Groups changed since the last flush, in the order they first changed. */
  private final List<RunningTotals> changed = new ArrayList<>();

  private RollupStore(KeyValueStore<Bytes, byte[]> inner, int maxGroups) {
    this.inner = inner;
    this.maxGroups = maxGroups;
  }

  /** Builds one store per task, logged, without Kafka Streams' record cache. */
  public static StoreBuilder<RollupStore> builder(String name, int maxGroups) {
    if (maxGroups < 1) {
      throw new IllegalArgumentException(
          "the rollup cache must hold at least one group, not " + maxGroups);
    }
    StoreBuilder<KeyValueStore<Bytes, byte[]>> inner =
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(name), Serdes.Bytes(), Serdes.ByteArray());
    return new Builder(inner, maxGroups);
  }

  /** Folds a distinct event into its group's totals. */
  public void add(UsageEvent event) {
    String group = GroupKey.of(event);
    RunningTotals slot = cache.get(group);
    if (slot == null) {
      byte[] stored = inner.get(key(group));
      slot = new RunningTotals(group, stored == null ? null : GroupTotals.fromBytes(stored));
      cache.put(group, slot);
    }
    slot.add(event);
    slot.used = true;
    if (!slot.dirty) {
      slot.dirty = true;
      changed.add(slot);
    }
  }

  /**
   * Where a sweep of the store goes on ({@code null}: it reached the end), and how many groups it
   * deleted.
   */
  public record Sweep(Bytes next, int deleted) {}

  /**
   * Visits at most {@code limit} groups in key order from {@code from} (null: the first) and
   * deletes those of a UTC day before {@code firstOpenDay} (ISO text) from the cache and the store;
   * the changelog receives a tombstone for each. The group key begins with a hash, so a day's
   * groups are spread over the whole store.
   */
  public Sweep deleteDaysBefore(String firstOpenDay, Bytes from, int limit) {
    // Every change reaches the inner store first, so a closed group cannot be written back by a
    // later flush.
    flushCache();
    List<Bytes> expired = new ArrayList<>();
    Bytes next;
    try (KeyValueIterator<Bytes, byte[]> groups = inner.range(from, null)) {
      for (int visited = 0; visited < limit && groups.hasNext(); visited++) {
        Bytes key = groups.next().key;
        // ISO dates order as text.
        if (GroupKey.day(new String(key.get(), StandardCharsets.UTF_8)).compareTo(firstOpenDay)
            < 0) {
          expired.add(key);
        }
      }
      next = groups.hasNext() ? groups.peekNextKey() : null;
    }
    for (Bytes key : expired) {
      cache.remove(new String(key.get(), StandardCharsets.UTF_8));
      inner.delete(key);
    }
    return new Sweep(next, expired.size());
  }

  /** Writes a tombstone for a key that is no group (the store holds nothing under it). */
  public void tombstone(Bytes key) {
    inner.delete(key);
  }

  private static Bytes key(String group) {
    return Bytes.wrap(group.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Writes every changed group's totals to the inner store (and its changelog), then keeps the
   * cache bounded.
   */
  @Override
  public void flushCache() {
    if (!changed.isEmpty()) {
      List<KeyValue<Bytes, byte[]>> batch = new ArrayList<>(changed.size());
      for (RunningTotals slot : changed) {
        batch.add(KeyValue.pair(key(slot.group), slot.toBytes()));
        slot.dirty = false;
      }
      // One RocksDB write batch instead of a write per group.
      inner.putAll(batch);
      changed.clear();
    }
    evictBeyondLimit(cache, maxGroups);
  }

  /**
   * Second-chance eviction, run when a flush leaves more than {@code maxGroups}: walking the map,
   * groups not used since the walk last passed them leave and the others lose their mark, until a
   * tenth below the limit (the clock algorithm, except that each walk starts at the map's
   * beginning, as a HashMap iterator cannot be kept across removals). A walk thus runs once per
   * tenth of the limit in new groups. Between flushes the cache can exceed the limit by the new
   * groups of one commit interval. Runs after a flush, so every slot is clean and leaving loses
   * nothing.
   */
  static void evictBeyondLimit(Map<String, RunningTotals> cache, int maxGroups) {
    if (cache.size() <= maxGroups) {
      return;
    }
    int target = maxGroups - maxGroups / 10;
    while (cache.size() > target) {
      Iterator<RunningTotals> slots = cache.values().iterator();
      while (slots.hasNext() && cache.size() > target) {
        RunningTotals slot = slots.next();
        if (slot.used) {
          slot.used = false;
        } else {
          slots.remove();
        }
      }
    }
  }

  @Override
  public void clearCache() {
    cache.clear();
    changed.clear();
  }

  @Override
  public boolean setFlushListener(
      CacheFlushListener<String, GroupTotals> listener, boolean sendOldValues) {
    return false;
  }

  @Override
  public String name() {
    return inner.name();
  }

  @Override
  public void init(StateStoreContext context, StateStore root) {
    // A store re-initialised after an aborted transaction starts from the restored changelog, never
    // from the cache.
    clearCache();
    inner.init(context, root);
  }

  @Override
  public void flush() {
    flushCache();
    inner.flush();
  }

  /**
   * Closes without writing what the cache holds: a clean close commits first, which flushed it, and
   * after a failure the open transaction is aborted and its changes must not be kept.
   */
  @Override
  public void close() {
    clearCache();
    inner.close();
  }

  @Override
  public boolean persistent() {
    return true;
  }

  @Override
  public boolean isOpen() {
    return inner.isOpen();
  }

  /**
   * Kafka Streams reads the changelog settings from the builder; the inner builder's are the ones
   * that apply.
   */
  private static final class Builder implements StoreBuilder<RollupStore> {
    private final StoreBuilder<KeyValueStore<Bytes, byte[]>> inner;
    private final int maxGroups;

    Builder(StoreBuilder<KeyValueStore<Bytes, byte[]>> inner, int maxGroups) {
      this.inner = inner.withCachingDisabled();
      this.maxGroups = maxGroups;
    }

    @Override
    public StoreBuilder<RollupStore> withCachingEnabled() {
      throw new UnsupportedOperationException("the rollup store has its own cache");
    }

    @Override
    public StoreBuilder<RollupStore> withCachingDisabled() {
      return this;
    }

    @Override
    public StoreBuilder<RollupStore> withLoggingEnabled(Map<String, String> config) {
      inner.withLoggingEnabled(config);
      return this;
    }

    @Override
    public StoreBuilder<RollupStore> withLoggingDisabled() {
      throw new UnsupportedOperationException(
          "the rollup store's changelog is the writer's rollups topic");
    }

    @Override
    public RollupStore build() {
      return new RollupStore(inner.build(), maxGroups);
    }

    @Override
    public Map<String, String> logConfig() {
      return inner.logConfig();
    }

    @Override
    public boolean loggingEnabled() {
      return inner.loggingEnabled();
    }

    @Override
    public String name() {
      return inner.name();
    }
  }
}
