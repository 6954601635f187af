package io.tallyhouse.stream;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.time.ZoneOffset;

/**
 * Running totals of one group (account, UTC day of created_at, api key, user, endpoint). It is also the row the
 * ClickHouse writer inserts into usage_daily: the JSON form is that row in JSONEachRow, money as exact JSON numbers
 * (ClickHouse parses Decimal(38,12) from the number's text, 18.16 included; it refuses quoted decimals).
 *
 * <p>{@code version} counts the distinct events folded in. It only grows, so ReplacingMergeTree(version) keeps the
 * latest totals and replaying an old update can never win over a newer one.
 */
public record Rollup(
    String accountId, LocalDate date, String apiKeyHash, String userId, String endpointId, String model,
    String modelPermaslug, String providerName, long requests, long promptTokens, long completionTokens,
    long reasoningTokens, long cachedTokens, BigDecimal usage, BigDecimal byokUsageInference, long byokRequests,
    long version, String updatedAt) {

  /** What the aggregation starts from; never stored or written. */
  static final Rollup EMPTY = new Rollup("", LocalDate.EPOCH, "", "", "", "", "", "", 0, 0, 0, 0, 0, BigDecimal.ZERO,
      BigDecimal.ZERO, 0, 0, "");
  private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
      .withZone(ZoneOffset.UTC);

  static final ObjectMapper JSON = JsonMapper.builder()
      .enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN)
      .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .build();
  private static final char SEP = '\u001f';

  /** The group an event belongs to; '' stands for "no user" (a contract user is never empty). */
  static String groupKey(UsageEvent e) {
    return e.getAccountId() + SEP + utcDay(e) + SEP + e.getApiKeyHash() + SEP + (e.getUser() == null ? "" : e.getUser())
        + SEP + e.getEndpointId() + SEP + e.getModel() + SEP + e.getModelPermaslug() + SEP + e.getProviderName();
  }

  static LocalDate utcDay(UsageEvent e) {
    return LocalDate.ofInstant(e.getCreatedAt(), ZoneOffset.UTC);
  }

  /** Totals after folding {@code e} into {@code previous} (null for a new group). */
  static Rollup fold(Rollup previous, UsageEvent e, Instant now) {
    String updated = DATE_TIME.format(now);
    BigDecimal cost = e.getCost().setScale(12, RoundingMode.UNNECESSARY);
    BigDecimal byok = e.getByokCost().setScale(12, RoundingMode.UNNECESSARY);
    long byokRequest = e.getIsByok() ? 1 : 0;
    if (previous == null || previous == EMPTY) {
      return new Rollup(e.getAccountId(), utcDay(e), e.getApiKeyHash(), e.getUser() == null ? "" : e.getUser(),
          e.getEndpointId(), e.getModel(), e.getModelPermaslug(), e.getProviderName(), 1, e.getPromptTokens(),
          e.getCompletionTokens(), e.getReasoningTokens(), e.getCachedTokens(), cost, byok, byokRequest, 1, updated);
    }
    return new Rollup(previous.accountId, previous.date, previous.apiKeyHash, previous.userId, previous.endpointId,
        previous.model, previous.modelPermaslug, previous.providerName, previous.requests + 1,
        previous.promptTokens + e.getPromptTokens(), previous.completionTokens + e.getCompletionTokens(),
        previous.reasoningTokens + e.getReasoningTokens(), previous.cachedTokens + e.getCachedTokens(),
        previous.usage.add(cost), previous.byokUsageInference.add(byok), previous.byokRequests + byokRequest,
        previous.version + 1, updated);
  }

  byte[] toJson() {
    ObjectNode row = JSON.createObjectNode();
    row.put("account_id", accountId);
    row.put("date", date.toString());
    row.put("api_key_hash", apiKeyHash);
    row.put("user_id", userId);
    row.put("endpoint_id", endpointId);
    row.put("model", model);
    row.put("model_permaslug", modelPermaslug);
    row.put("provider_name", providerName);
    row.put("requests", requests);
    row.put("prompt_tokens", promptTokens);
    row.put("completion_tokens", completionTokens);
    row.put("reasoning_tokens", reasoningTokens);
    row.put("cached_tokens", cachedTokens);
    row.put("usage", usage);
    row.put("byok_usage_inference", byokUsageInference);
    row.put("byok_requests", byokRequests);
    row.put("version", version);
    row.put("updated_at", updatedAt);
    try {
      return JSON.writeValueAsBytes(row);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Rollup fromJson(byte[] bytes) {
    try {
      JsonNode n = JSON.readTree(bytes);
      return new Rollup(n.get("account_id").asText(), LocalDate.parse(n.get("date").asText()),
          n.get("api_key_hash").asText(), n.get("user_id").asText(), n.get("endpoint_id").asText(),
          n.get("model").asText(), n.get("model_permaslug").asText(), n.get("provider_name").asText(),
          n.get("requests").asLong(), n.get("prompt_tokens").asLong(), n.get("completion_tokens").asLong(),
          n.get("reasoning_tokens").asLong(), n.get("cached_tokens").asLong(),
          n.get("usage").decimalValue().setScale(12, RoundingMode.UNNECESSARY),
          n.get("byok_usage_inference").decimalValue().setScale(12, RoundingMode.UNNECESSARY),
          n.get("byok_requests").asLong(), n.get("version").asLong(), n.path("updated_at").asText(""));
    } catch (IOException e) {
      throw new UncheckedIOException("not a rollup row", e);
    }
  }
}
