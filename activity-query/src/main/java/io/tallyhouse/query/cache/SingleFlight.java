package io.tallyhouse.query.cache;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * One computation per key at a time: a caller that finds one running for its key waits for that
 * one's result.
 */
final class SingleFlight<K, V> {

  private final Map<K, CompletableFuture<V>> running = new ConcurrentHashMap<>();

  /**
   * The result of {@code compute} for {@code key}, shared with every caller that asked while it
   * ran.
   */
  V get(K key, Supplier<V> compute) {
    CompletableFuture<V> mine = new CompletableFuture<>();
    CompletableFuture<V> theirs = running.putIfAbsent(key, mine);
    if (theirs != null) {
      return theirs.join();
    }
    try {
      V value = compute.get();
      mine.complete(value);
      return value;
    } catch (RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      running.remove(key, mine);
    }
  }
}
