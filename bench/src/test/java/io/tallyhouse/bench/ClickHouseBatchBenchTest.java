package io.tallyhouse.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClickHouseBatchBenchTest {

  private static final Instant CREATED = Instant.parse("2026-11-30T10:15:30Z");

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

  private static List<String[]> rows(io.tallyhouse.common.clickhouse.TabSeparated rows) {
    return new String(rows.toByteArray(), StandardCharsets.UTF_8)
        .lines()
        .map(line -> line.split("\t", -1))
        .toList();
  }

  /** The usage_daily columns (UsageDailyRow.COLUMNS) this test reads. */
  private static final int SHARD = 9;

  private static final int REQUESTS = 10;
  private static final int PROMPT = 11;
  private static final int USAGE = 15;
  private static final int VERSION = 18;

  @Test
  void aBatchCarriesTheLatestTotalsOfEachGroupItTouchedWithAVersionThatGrows() {
    // One partition: every event of a group is counted in the same shard.
    ClickHouseBatchBench.DailyRows daily = new ClickHouseBatchBench.DailyRows(1);
    daily.add(event("e1", "u1", 10, "0.5"));
    daily.add(event("e2", "u1", 20, "0.25"));
    daily.add(event("e3", "u2", 5, "1"));

    ClickHouseBatchBench.DailyRows.Batch first = daily.endBatch("2026-11-30 10:16:00");

    assertEquals(2, first.dailyRows());
    List<String[]> firstRows = rows(first.daily());
    assertEquals(2, firstRows.size());
    String[] u1 = firstRows.stream().filter(r -> r[3].equals("u1")).findFirst().orElseThrow();
    assertEquals("0", u1[SHARD]);
    assertEquals("2", u1[REQUESTS]);
    assertEquals("30", u1[PROMPT]);
    assertEquals("0.750000000000", u1[USAGE]);
    assertEquals("2", u1[VERSION]);
    // Both groups share the account's key and workspace: one pair row each.
    assertEquals(1, rows(first.apiKeys()).size());
    assertEquals(1, rows(first.workspaces()).size());

    daily.add(event("e4", "u1", 1, "0.000000000001"));
    ClickHouseBatchBench.DailyRows.Batch second = daily.endBatch("2026-11-30 10:16:01");

    // Only the group touched since: its complete totals, one version on.
    List<String[]> secondRows = rows(second.daily());
    assertEquals(1, secondRows.size());
    assertEquals("u1", secondRows.get(0)[3]);
    assertEquals("3", secondRows.get(0)[REQUESTS]);
    assertEquals("0.750000000001", secondRows.get(0)[USAGE]);
    assertEquals("3", secondRows.get(0)[VERSION]);
  }

  @Test
  void eachEventIsCountedInTheShardOfItsEventsTopicPartition() {
    ClickHouseBatchBench.DailyRows daily = new ClickHouseBatchBench.DailyRows(6);
    for (int i = 0; i < 60; i++) {
      daily.add(event("e" + i, "u1", 1, "1"));
    }

    List<String[]> rows = rows(daily.endBatch("2026-11-30 10:16:00").daily());

    // One group spread over the partitions gateway-ingest's key hashes its events to, one row per
    // shard: their requests add up to the events, each shard's version counts its own.
    assertEquals(60, rows.stream().mapToLong(r -> Long.parseLong(r[REQUESTS])).sum());
    rows.forEach(r -> assertEquals(r[REQUESTS], r[VERSION]));
    assertEquals(
        List.of("0", "1", "2", "3", "4", "5"), rows.stream().map(r -> r[SHARD]).sorted().toList());
  }
}
