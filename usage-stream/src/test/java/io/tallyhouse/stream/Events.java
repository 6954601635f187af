package io.tallyhouse.stream;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.stream.rollup.GroupTotals;
import java.math.BigDecimal;
import java.time.Instant;

/** Test events with only what a test cares about spelled out. */
public final class Events {

  public static final String KEY_A = "a".repeat(64);
  public static final String KEY_B = "b".repeat(64);

  private Events() {}

  public static UsageEvent event(
      String account, String id, String createdAt, String user, String cost) {
    return UsageEvent.newBuilder()
        .setEventId(id)
        .setAccountId(account)
        .setApiKeyHash(KEY_A)
        .setUser(user)
        .setModel("openai/gpt-4o")
        .setModelPermaslug("openai/gpt-4o-2024-08-06")
        .setProviderName("OpenAI")
        .setEndpointId("OpenAI/openai/gpt-4o-2024-08-06")
        .setCreatedAt(Instant.parse(createdAt))
        .setPromptTokens(10)
        .setCompletionTokens(20)
        .setReasoningTokens(3)
        .setCachedTokens(4)
        .setCost(new BigDecimal(cost).setScale(12))
        .setIsByok(false)
        .setByokCost(BigDecimal.ZERO.setScale(12))
        .setApp(null)
        .setReceivedAt(Instant.parse(createdAt))
        .build();
  }

  /**
   * The totals of a group's events, added up independently of the rollup store: plain BigDecimal
   * and long arithmetic, the test's oracle.
   */
  public static GroupTotals totals(UsageEvent... events) {
    long requests = 0;
    long prompt = 0;
    long completion = 0;
    long reasoning = 0;
    long cached = 0;
    long byokRequests = 0;
    BigDecimal usage = BigDecimal.ZERO.setScale(Money.SCALE);
    BigDecimal byok = BigDecimal.ZERO.setScale(Money.SCALE);
    for (UsageEvent e : events) {
      requests++;
      prompt += e.getPromptTokens();
      completion += e.getCompletionTokens();
      reasoning += e.getReasoningTokens();
      cached += e.getCachedTokens();
      byokRequests += e.getIsByok() ? 1 : 0;
      usage = usage.add(e.getCost());
      byok = byok.add(e.getByokCost());
    }
    return new GroupTotals(
        requests, prompt, completion, reasoning, cached, usage, byok, byokRequests, requests);
  }

  /**
   * A TabSeparated row by column name; fails unless it is exactly one line of one value per column.
   * Values stay escaped as written.
   */
  public static java.util.Map<String, String> byColumn(byte[] row, java.util.List<String> columns) {
    String text = new String(row, java.nio.charset.StandardCharsets.UTF_8);
    org.junit.jupiter.api.Assertions.assertEquals(
        text.length() - 1, text.indexOf('\n'), "one whole line");
    String[] values = text.substring(0, text.length() - 1).split("\t", -1);
    org.junit.jupiter.api.Assertions.assertEquals(
        columns.size(), values.length, "one value per column");
    java.util.Map<String, String> byColumn = new java.util.HashMap<>();
    for (int i = 0; i < values.length; i++) {
      byColumn.put(columns.get(i), values[i]);
    }
    return byColumn;
  }
}
