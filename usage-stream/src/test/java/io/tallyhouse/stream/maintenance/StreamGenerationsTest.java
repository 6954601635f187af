package io.tallyhouse.stream.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.Settings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How shard blocks are handed to generations, and which recorded blocks are refused. */
class StreamGenerationsTest {

  private static Generation gen(String topicId, int base, int partitions) {
    return new Generation(
        "cluster-1",
        topicId,
        "app-" + topicId,
        "app-" + topicId + "-rollup-partials-changelog",
        base,
        partitions);
  }

  @Test
  void aNewGenerationGetsTheBlockAfterEveryRecordedOne() {
    assertEquals(6, GenerationLedger.nextShardBase(List.of(gen("a", 0, 6)), 6, 6));
    assertEquals(
        18, GenerationLedger.nextShardBase(List.of(gen("a", 0, 6), gen("b", 6, 12)), 3, 6));
  }

  @Test
  void aNewGenerationStartsAboveEveryShardThatHoldsRows() {
    // Rows written before generations were recorded, or by a backfill, in shards up to 9.
    assertEquals(10, GenerationLedger.nextShardBase(List.of(gen("a", 0, 6)), 10, 6));
  }

  @Test
  void theShardNumbersOfUsageDailyBoundTheGenerations() {
    assertEquals(65_536 - 6, GenerationLedger.nextShardBase(List.of(gen("a", 0, 65_530)), 0, 6));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> GenerationLedger.nextShardBase(List.of(gen("a", 0, 65_531)), 0, 6));
    assertTrue(
        e.getMessage().contains("no room for another generation of 6 shards"), e.getMessage());
  }

  @Test
  void theNewestGenerationIsTheOneWithTheHighestBlock() {
    assertEquals("b", GenerationLedger.newestId(List.of(gen("b", 6, 6), gen("a", 0, 6))));
    assertEquals(GenerationLedger.UNRECORDED, GenerationLedger.newestId(List.of()));
  }

  @Test
  void aGenerationIsFoundByClusterAndChangelogTopicId() {
    List<Generation> recorded = List.of(gen("a", 0, 6), gen("b", 6, 6));
    assertEquals(6, GenerationLedger.find(recorded, "cluster-1", "b").orElseThrow().shardBase());
    assertTrue(
        GenerationLedger.find(recorded, "cluster-2", "b").isEmpty(),
        "another cluster, another generation");
  }

  @Test
  void overlappingBlocksAreRefusedNotUsed() {
    // Two new generations recorded at the same moment both took the block after "a".
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                GenerationLedger.find(
                    List.of(gen("a", 0, 6), gen("b", 6, 6), gen("c", 6, 6)), "cluster-1", "b"));
    assertTrue(e.getMessage().contains("conflicting blocks"), e.getMessage());
    // One generation recorded twice with different blocks.
    assertThrows(
        IllegalStateException.class,
        () -> GenerationLedger.find(List.of(gen("a", 0, 6), gen("a", 6, 6)), "cluster-1", "a"));
  }

  @Test
  void theSettingsComeFromTheEnvironmentAndBlankMeansUnset() {
    StreamGenerations.Switch given =
        StreamGenerations.Switch.read(
            Settings.of(
                Map.of(
                    "CONTINUE_FROM_APPLICATION_ID", " usage-stream ", "NEW_GENERATION_AFTER", "")));
    assertEquals(new StreamGenerations.Switch("usage-stream", null), given);
  }
}
