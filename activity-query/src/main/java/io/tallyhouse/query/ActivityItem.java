package io.tallyhouse.query;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.Comparator;
import java.util.Objects;

/**
 * One item of the activity answer: the totals of one (date, endpoint) and, when grouped, one user and/or key.
 *
 * @param userId the user when grouped by user; null both when not grouped and for events without a user
 * @param apiKeyHash the key when grouped by api key, else null
 */
public record ActivityItem(
    LocalDate date, String model, String modelPermaslug, String endpointId, String providerName,
    String userId, String apiKeyHash,
    BigDecimal usage, BigDecimal byokUsageInference,
    BigInteger requests, BigInteger promptTokens, BigInteger completionTokens, BigInteger reasoningTokens,
    BigInteger cachedTokens, BigInteger byokRequests) {

  /**
   * The contract's order: date desc, usage desc, then endpoint_id, user_id (no user first), api_key_hash asc.
   * Model, permaslug and provider break the remaining ties so the answer is always the same.
   */
  public static final Comparator<ActivityItem> ORDER = Comparator
      .comparing(ActivityItem::date, Comparator.reverseOrder())
      .thenComparing(ActivityItem::usage, Comparator.reverseOrder())
      .thenComparing(ActivityItem::endpointId)
      .thenComparing(ActivityItem::userId, Comparator.nullsFirst(Comparator.naturalOrder()))
      .thenComparing(ActivityItem::apiKeyHash, Comparator.nullsFirst(Comparator.naturalOrder()))
      .thenComparing(ActivityItem::model)
      .thenComparing(ActivityItem::modelPermaslug)
      .thenComparing(ActivityItem::providerName);

  public ActivityItem {
    Objects.requireNonNull(date, "date");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(modelPermaslug, "modelPermaslug");
    Objects.requireNonNull(endpointId, "endpointId");
    Objects.requireNonNull(providerName, "providerName");
    Objects.requireNonNull(usage, "usage");
    Objects.requireNonNull(byokUsageInference, "byokUsageInference");
  }

  /**
   * Writes the item's fields into {@code node}: exactly the contract's fields, plus user_id / api_key_hash
   * when the request grouped by them. Money is written as an exact JSON number without trailing zeros.
   */
  public void writeTo(ObjectNode node, boolean withUser, boolean withApiKey) {
    node.put("date", date.toString());
    node.put("model", model);
    node.put("model_permaslug", modelPermaslug);
    node.put("endpoint_id", endpointId);
    node.put("provider_name", providerName);
    node.put("usage", plain(usage));
    node.put("byok_usage_inference", plain(byokUsageInference));
    node.put("requests", requests);
    node.put("prompt_tokens", promptTokens);
    node.put("completion_tokens", completionTokens);
    node.put("reasoning_tokens", reasoningTokens);
    node.put("cached_tokens", cachedTokens);
    node.put("byok_requests", byokRequests);
    if (withUser) {
      if (userId == null) {
        node.putNull("user_id");
      } else {
        node.put("user_id", userId);
      }
    }
    if (withApiKey) {
      node.put("api_key_hash", apiKeyHash);
    }
  }

  /** 1.500000000000 -> 1.5 and 0E-12 -> 0; the mapper writes it without an exponent. */
  static BigDecimal plain(BigDecimal value) {
    BigDecimal stripped = value.stripTrailingZeros();
    // stripTrailingZeros turns 100 into 1E+2; a non-negative scale keeps integers as integers.
    return stripped.scale() < 0 ? stripped.setScale(0) : stripped;
  }
}
