package io.tallyhouse.stream.rollup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The rollup store's cache without a broker: its bound. What a commit writes is {@code
 * RollupStoreIntegrationTest}'s.
 */
class RollupStoreTest {

  @Test
  void evictionKeepsTheCacheBoundedAndGivesUsedGroupsASecondChance() {
    Map<String, RunningTotals> cache = new HashMap<>();
    for (int i = 0; i < 100; i++) {
      RunningTotals slot = new RunningTotals("g" + i, null);
      slot.used = i % 10 == 0;
      cache.put(slot.group, slot);
    }
    RollupStore.evictBeyondLimit(cache, 50);
    assertEquals(45, cache.size(), "a tenth below the limit");
    for (int i = 0; i < 100; i += 10) {
      assertTrue(cache.containsKey("g" + i), "used since the last pass: g" + i);
    }
    // Under the limit nothing leaves; over it again, groups unused since the last pass leave first.
    RollupStore.evictBeyondLimit(cache, 50);
    assertEquals(45, cache.size());
    RollupStore.evictBeyondLimit(cache, 10);
    assertEquals(9, cache.size());
  }
}
