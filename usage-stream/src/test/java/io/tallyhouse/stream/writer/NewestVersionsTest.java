package io.tallyhouse.stream.writer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rollup.GroupTotals;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The batch's newest versions and pairs, against the library's maps, across their growth. */
class NewestVersionsTest {

  private record Entry(String key, int shard) {}

  @Test
  void theNewestVersionOfEachGroupAndShardIsKeptInTheOrderTheyFirstAppeared() {
    Random random = new Random(23);
    NewestVersions newest = new NewestVersions(16);
    for (int batch = 0; batch < 3; batch++) {
      newest.clear();
      Map<Entry, Long> expected = new LinkedHashMap<>();
      for (int n = 0; n < 5_000; n++) {
        // Few distinct prefixes: groups whose prefixes are equal still stay apart.
        String key =
            String.format("%08x", random.nextInt(64)) + "\u001fgroup-" + random.nextInt(2_000);
        int shard = random.nextInt(3);
        long version = 1 + random.nextInt(50);
        newest.offer(
            key.getBytes(StandardCharsets.UTF_8),
            shard,
            new GroupTotals(1, 0, 0, 0, 0, BigDecimal.ZERO, BigDecimal.ZERO, 0, version).toBytes());
        expected.merge(new Entry(key, shard), version, Math::max);
      }
      assertEquals(expected.size(), newest.size());
      int i = 0;
      for (Map.Entry<Entry, Long> e : expected.entrySet()) {
        assertEquals(e.getKey().key(), new String(newest.key(i), StandardCharsets.UTF_8));
        assertEquals(e.getKey().shard(), newest.shard(i));
        assertEquals(e.getValue(), GroupTotals.version(newest.value(i)));
        i++;
      }
    }
  }

  @Test
  void groupsBuiltToShareOneHashPrefixTakeAFewProbesEachAndKeepTheirNewestVersions() {
    // User ids of twelve "Aa"/"BB" blocks all have one String.hashCode, so their groups' fields do
    // too, and so do the eight hex digits of the key's prefix.
    List<String> users = new ArrayList<>(List.of(""));
    for (int block = 0; block < 12; block++) {
      List<String> longer = new ArrayList<>();
      for (String user : users) {
        longer.add(user + "Aa");
        longer.add(user + "BB");
      }
      users = longer;
    }
    List<byte[]> groups = new ArrayList<>();
    for (String user : users) {
      UsageEvent event = Events.event("acct", "e", "2026-11-21T10:00:00Z", user, "0.1");
      groups.add(GroupKey.of(event).getBytes(StandardCharsets.UTF_8));
    }
    byte[] prefix = Arrays.copyOf(groups.get(0), GroupKey.PREFIX);
    for (byte[] group : groups) {
      assertArrayEquals(prefix, Arrays.copyOf(group, GroupKey.PREFIX));
    }
    assertEquals(4_096, new HashSet<>(users).size());

    // Three versions of each group, in shuffled order, in one batch.
    List<int[]> offers = new ArrayList<>();
    for (int g = 0; g < groups.size(); g++) {
      for (int version = 1; version <= 3; version++) {
        offers.add(new int[] {g, version});
      }
    }
    Collections.shuffle(offers, new Random(31));
    NewestVersions newest = new NewestVersions(1 << 15);
    for (int batch = 0; batch < 2; batch++) {
      newest.clear();
      for (int[] offer : offers) {
        newest.offer(groups.get(offer[0]), 7, totals(offer[1]));
      }
      assertEquals(offers.size(), newest.offers());
      double perOffer = (double) newest.probes() / newest.offers();
      assertTrue(perOffer < 4, "slots looked at per offer: " + perOffer);
      assertEquals(groups.size(), newest.size());
      for (int i = 0; i < newest.size(); i++) {
        assertEquals(7, newest.shard(i));
        assertEquals(3, GroupTotals.version(newest.value(i)));
      }
    }
  }

  private static byte[] totals(long version) {
    return new GroupTotals(1, 0, 0, 0, 0, BigDecimal.ZERO, BigDecimal.ZERO, 0, version).toBytes();
  }

  @Test
  void aValueThatIsNotStoredTotalsIsRefused() {
    byte[] totals =
        new GroupTotals(1, 0, 0, 0, 0, BigDecimal.ZERO, BigDecimal.ZERO, 0, 1).toBytes();
    NewestVersions newest = new NewestVersions(16);
    assertThrows(
        IllegalArgumentException.class,
        () -> newest.offer(new byte[] {1}, 0, Arrays.copyOf(totals, totals.length - 1)));
  }

  @Test
  void eachPairIsAddedOnceWhereverItsBytesLie() {
    Random random = new Random(29);
    PairSet pairs = new PairSet();
    for (int batch = 0; batch < 3; batch++) {
      pairs.clear();
      Map<List<String>, Boolean> expected = new HashMap<>();
      for (int n = 0; n < 3_000; n++) {
        String first = "acct-" + random.nextInt(30);
        String second = "ws-" + random.nextInt(60);
        // The pair inside larger arrays, at varying offsets.
        String padding = "x".repeat(random.nextInt(5));
        byte[] a = (padding + first + "|").getBytes(StandardCharsets.UTF_8);
        byte[] b = ("|" + second + padding).getBytes(StandardCharsets.UTF_8);
        boolean added = pairs.add(a, padding.length(), a.length - 1, b, 1, 1 + second.length());
        assertEquals(expected.put(List.of(first, second), true) == null, added, first + second);
      }
      assertEquals(expected.size(), pairs.size());
    }
    assertTrue(pairs.add(new byte[] {1, 2}, 0, 1, new byte[] {2}, 0, 1));
    assertFalse(pairs.add(new byte[] {1}, 0, 1, new byte[] {9, 2}, 1, 2));
  }
}
