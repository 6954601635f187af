package io.tallyhouse.stream.writer;

import io.tallyhouse.stream.rollup.GroupTotals;
import java.util.Arrays;

/**
 * The newest version of each (group key, shard) among a batch's rollup records: an open-addressing
 * table with linear probing, kept from batch to batch, that reads only each record's version
 * ({@link GroupTotals#version}). Keys are compared byte for byte.
 *
 * <p>It hashes the whole key and the shard with a {@link SeededHash}, never the key's hash prefix:
 * the prefix is digits of String.hashCode of the fields, which the gateway's customers partly
 * choose (user ids, endpoints), and thousands of groups built to share it would make every offer of
 * a batch walk them all. {@link #probes} tells how long the walks were.
 */
final class NewestVersions {

  private byte[][] keys;
  private int[] shards;
  private int[] hashes;
  private byte[][] values;
  private long[] versions;

  /** The occupied slots in the order their (group, shard) first appeared. */
  private int[] order;

  private int size;

  private final SeededHash hasher = new SeededHash();

  /** Slots looked at by the offers since the last {@link #clear}, and those offers. */
  private long probes;

  private long offers;

  NewestVersions(int capacity) {
    allocate(Integer.highestOneBit(Math.max(16, capacity - 1)) << 1);
  }

  /**
   * Takes a rollup record: its stored totals {@code value} become the group's in {@code shard}
   * unless a version at least as new is already there. Refuses a value that is not stored totals
   * ({@link GroupTotals#version}).
   */
  void offer(byte[] key, int shard, byte[] value) {
    long version = GroupTotals.version(value);
    if (size * 2 >= keys.length) {
      allocate(keys.length * 2);
    }
    int mask = keys.length - 1;
    int hash = hasher.hash(key, shard);
    offers++;
    for (int slot = hash & mask; ; slot = (slot + 1) & mask) {
      probes++;
      byte[] there = keys[slot];
      if (there == null) {
        keys[slot] = key;
        hashes[slot] = hash;
        shards[slot] = shard;
        values[slot] = value;
        versions[slot] = version;
        order[size++] = slot;
        return;
      }
      if (hashes[slot] == hash && shards[slot] == shard && Arrays.equals(there, key)) {
        if (version > versions[slot]) {
          values[slot] = value;
          versions[slot] = version;
        }
        return;
      }
    }
  }

  int size() {
    return size;
  }

  /**
   * The slots the offers since the last {@link #clear} looked at: at most about 2.5 per offer on
   * average (the table is at most half full) whatever the keys; far more means colliding hashes.
   */
  long probes() {
    return probes;
  }

  /** The offers since the last {@link #clear}. */
  long offers() {
    return offers;
  }

  /** The key of the {@code i}th (group, shard), in the order they first appeared. */
  byte[] key(int i) {
    return keys[order[i]];
  }

  int shard(int i) {
    return shards[order[i]];
  }

  /** The stored totals of the newest version of the {@code i}th (group, shard). */
  byte[] value(int i) {
    return values[order[i]];
  }

  /** Forgets every entry (and the records it referred to), keeping the table. */
  void clear() {
    for (int i = 0; i < size; i++) {
      keys[order[i]] = null;
      values[order[i]] = null;
    }
    size = 0;
    probes = 0;
    offers = 0;
  }

  /** A table of {@code capacity} slots (a power of two) holding the entries so far. */
  private void allocate(int capacity) {
    byte[][] oldKeys = keys;
    int[] oldShards = shards;
    int[] oldHashes = hashes;
    byte[][] oldValues = values;
    long[] oldVersions = versions;
    int[] oldOrder = order;
    int entries = size;
    keys = new byte[capacity][];
    shards = new int[capacity];
    hashes = new int[capacity];
    values = new byte[capacity][];
    versions = new long[capacity];
    order = new int[capacity / 2 + 1];
    size = 0;
    int mask = capacity - 1;
    for (int i = 0; i < entries; i++) {
      int from = oldOrder[i];
      int slot = oldHashes[from] & mask;
      while (keys[slot] != null) {
        slot = (slot + 1) & mask;
      }
      keys[slot] = oldKeys[from];
      hashes[slot] = oldHashes[from];
      shards[slot] = oldShards[from];
      values[slot] = oldValues[from];
      versions[slot] = oldVersions[from];
      order[size++] = slot;
    }
  }
}
