package io.tallyhouse.stream.writer;

import java.util.Arrays;

/**
 * A set of pairs of byte ranges (an account and an api key hash, an account and a workspace) read
 * in place from the arrays that hold them, kept from batch to batch: a batch writes each pair's row
 * once without copying the pair out of its group key. Hashed with a {@link SeededHash}: workspace
 * ids are chosen by the gateway's customers, and ids built to collide under a fixed hash would make
 * every add of a batch walk them all.
 */
final class PairSet {

  private byte[][] firsts = new byte[64][];
  private int[] firstFroms = new int[64];
  private int[] firstTos = new int[64];
  private byte[][] seconds = new byte[64][];
  private int[] secondFroms = new int[64];
  private int[] secondTos = new int[64];
  private int[] hashes = new int[64];

  /** Per slot, one more than the index of its pair; 0 for an empty slot. */
  private int[] slots = new int[128];

  private int size;

  private final SeededHash hasher = new SeededHash();

  /**
   * Adds the pair {@code first[firstFrom, firstTo)}, {@code second[secondFrom, secondTo)}; whether
   * it was new. The arrays must stay unchanged until {@link #clear}.
   */
  boolean add(
      byte[] first, int firstFrom, int firstTo, byte[] second, int secondFrom, int secondTo) {
    int hash = hasher.hash(first, firstFrom, firstTo, second, secondFrom, secondTo);
    int mask = slots.length - 1;
    int slot = (hash ^ hash >>> 16) & mask;
    for (int entry = slots[slot]; entry != 0; entry = slots[slot]) {
      int i = entry - 1;
      if (hashes[i] == hash
          && Arrays.equals(first, firstFrom, firstTo, firsts[i], firstFroms[i], firstTos[i])
          && Arrays.equals(
              second, secondFrom, secondTo, seconds[i], secondFroms[i], secondTos[i])) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    if (size == hashes.length) {
      grow();
      return add(first, firstFrom, firstTo, second, secondFrom, secondTo);
    }
    firsts[size] = first;
    firstFroms[size] = firstFrom;
    firstTos[size] = firstTo;
    seconds[size] = second;
    secondFroms[size] = secondFrom;
    secondTos[size] = secondTo;
    hashes[size] = hash;
    slots[slot] = ++size;
    return true;
  }

  int size() {
    return size;
  }

  /** Forgets every pair (and the arrays it referred to), keeping the table. */
  void clear() {
    Arrays.fill(firsts, 0, size, null);
    Arrays.fill(seconds, 0, size, null);
    Arrays.fill(slots, 0);
    size = 0;
  }

  private void grow() {
    int capacity = hashes.length * 2;
    firsts = Arrays.copyOf(firsts, capacity);
    firstFroms = Arrays.copyOf(firstFroms, capacity);
    firstTos = Arrays.copyOf(firstTos, capacity);
    seconds = Arrays.copyOf(seconds, capacity);
    secondFroms = Arrays.copyOf(secondFroms, capacity);
    secondTos = Arrays.copyOf(secondTos, capacity);
    hashes = Arrays.copyOf(hashes, capacity);
    // Twice the pairs' capacity: at most half the slots are taken.
    slots = new int[capacity * 2];
    int mask = slots.length - 1;
    for (int i = 0; i < size; i++) {
      int slot = (hashes[i] ^ hashes[i] >>> 16) & mask;
      while (slots[slot] != 0) {
        slot = (slot + 1) & mask;
      }
      slots[slot] = i + 1;
    }
  }
}
