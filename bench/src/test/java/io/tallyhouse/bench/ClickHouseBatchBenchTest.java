package io.tallyhouse.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.stream.rows.DistinctEventRow;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClickHouseBatchBenchTest {

  private static final Instant CREATED = Instant.parse("2026-11-30T10:15:30Z");

  /** The usage_daily columns (UsageDailyRow.COLUMNS) this test reads. */
  private static final int USER = 3;

  private static final int SHARD = 9;
  private static final int REQUESTS = 10;
  private static final int PROMPT = 11;
  private static final int USAGE = 15;
  private static final int VERSION = 18;

  private static UsageEvent event(String eventId, String user, long prompt, String cost) {
    return UsageEvent.newBuilder()
        .setEventId(eventId)
        .setAccountId("acct-1")
        .setApiKeyHash("a".repeat(64))
        .setUser(user)
        .setModel("openai/gpt-4o")
        .setModelPermaslug("openai/gpt-4o-2024-08-06")
        .setProviderName("OpenAI")
        .setEndpointId("OpenAI/openai/gpt-4o-2024-08-06")
        .setCreatedAt(CREATED)
        .setPromptTokens(prompt)
        .setCompletionTokens(1)
        .setReasoningTokens(0)
        .setCachedTokens(0)
        .setCost(new BigDecimal(cost).setScale(Money.SCALE))
        .setIsByok(false)
        .setByokCost(BigDecimal.ZERO.setScale(Money.SCALE))
        .setApp(null)
        .setReceivedAt(CREATED)
        .setWorkspaceId("default")
        .build();
  }

  private static List<String[]> rows(TabSeparated rows) {
    return rows(rows.toByteArray());
  }

  private static List<String[]> rows(byte[] rows) {
    return new String(rows, StandardCharsets.UTF_8)
        .lines()
        .map(line -> line.split("\t", -1))
        .toList();
  }

  @Test
  void aBatchCarriesTheLatestTotalsOfEachGroupItTouchedWithAVersionThatGrows() {
    // One partition: every event of a group is counted in the same shard.
    ClickHouseBatchBench.Generated generated =
        new ClickHouseBatchBench.Generated(1, "2026-11-30 10:16:00");
    List<UsageEvent> events =
        List.of(
            event("e1", "u1", 10, "0.5"),
            event("e2", "u1", 20, "0.25"),
            event("e3", "u2", 5, "1"),
            event("e4", "u1", 1, "0.000000000001"));
    events.forEach(generated::add);

    ClickHouseBatchBench.Generated.Batch first = generated.batch(0, 3);

    // The events' own rows, as the writer inserts them.
    assertEquals(
        new String(DistinctEventRow.toRow(events.get(0)), StandardCharsets.UTF_8)
            + new String(DistinctEventRow.toRow(events.get(1)), StandardCharsets.UTF_8)
            + new String(DistinctEventRow.toRow(events.get(2)), StandardCharsets.UTF_8),
        new String(first.events().toByteArray(), StandardCharsets.UTF_8));
    List<String[]> firstRows = rows(first.daily());
    assertEquals(2, firstRows.size());
    String[] u1 = firstRows.stream().filter(r -> r[USER].equals("u1")).findFirst().orElseThrow();
    assertEquals("0", u1[SHARD]);
    assertEquals("2", u1[REQUESTS]);
    assertEquals("30", u1[PROMPT]);
    assertEquals("0.750000000000", u1[USAGE]);
    assertEquals("2", u1[VERSION]);
    // Both groups share the account's key and workspace: one pair row each.
    assertEquals(1, rows(first.apiKeys()).size());
    assertEquals(1, rows(first.workspaces()).size());

    ClickHouseBatchBench.Generated.Batch second = generated.batch(3, 4);

    // Only the group touched since: its complete totals, one version on.
    List<String[]> secondRows = rows(second.daily());
    assertEquals(1, secondRows.size());
    assertEquals("u1", secondRows.get(0)[USER]);
    assertEquals("3", secondRows.get(0)[REQUESTS]);
    assertEquals("0.750000000001", secondRows.get(0)[USAGE]);
    assertEquals("3", secondRows.get(0)[VERSION]);
    assertEquals(1, rows(second.events()).size());
  }

  @Test
  void eachEventIsCountedInTheShardOfItsEventsTopicPartition() {
    ClickHouseBatchBench.Generated generated =
        new ClickHouseBatchBench.Generated(6, "2026-11-30 10:16:00");
    for (int i = 0; i < 60; i++) {
      generated.add(event("e" + i, "u1", 1, "1"));
    }

    List<String[]> rows = rows(generated.batch(0, 60).daily());

    // One group spread over the partitions gateway-ingest's key hashes its events to, one row per
    // shard: their requests add up to the events, each shard's version counts its own.
    assertEquals(
        List.of("0", "1", "2", "3", "4", "5"), rows.stream().map(r -> r[SHARD]).sorted().toList());
    assertEquals(60, rows.stream().mapToLong(r -> Long.parseLong(r[REQUESTS])).sum());
    rows.forEach(r -> assertEquals(r[REQUESTS], r[VERSION]));
  }

  @Test
  void generatesValidEventsOfTheLastDay() {
    Instant now = Instant.parse("2026-11-30T17:00:00Z");

    ClickHouseBatchBench.Generated generated = ClickHouseBatchBench.generate(1_000, 6, now);

    assertEquals(1_000, generated.count());
    List<String[]> events = rows(generated.batch(0, 1_000).events());
    assertEquals(1_000, events.size());
    // created_at (column 10) within the day before now.
    events.forEach(
        e ->
            assertTrue(
                e[10].compareTo("2026-11-29 17:00:00") >= 0
                    && e[10].compareTo("2026-11-30 17:00:00") <= 0,
                e[10]));
  }
}
