package io.tallyhouse.query.activity;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import io.tallyhouse.query.json.JsonText;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * One item of the activity answer: the totals of one (date, endpoint) and, when grouped, one
 * workspace, user and/or key.
 *
 * @param workspaceId the workspace as the API shows it when grouped by workspace, else null
 * @param userId the user when grouped by user; null both when not grouped and for events without a
 *     user
 * @param apiKeyHash the key when grouped by api key, else null
 */
public record ActivityItem(
    LocalDate date,
    String model,
    String modelPermaslug,
    String endpointId,
    String providerName,
    String workspaceId,
    String userId,
    String apiKeyHash,
    BigDecimal usage,
    BigDecimal byokUsageInference,
    BigInteger requests,
    BigInteger promptTokens,
    BigInteger completionTokens,
    BigInteger reasoningTokens,
    BigInteger cachedTokens,
    BigInteger byokRequests) {

  /**
   * The contract's order: date desc, usage desc, then endpoint_id, workspace_id, user_id (no user
   * first), api_key_hash asc. Model, permaslug and provider break the remaining ties so the answer
   * is always the same.
   */
  public static final Comparator<ActivityItem> ORDER =
      Comparator.comparing(ActivityItem::date, Comparator.reverseOrder())
          .thenComparing(ActivityItem::usage, Comparator.reverseOrder())
          .thenComparing(ActivityItem::endpointId)
          .thenComparing(
              ActivityItem::workspaceId, Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(ActivityItem::userId, Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(ActivityItem::apiKeyHash, Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(ActivityItem::model)
          .thenComparing(ActivityItem::modelPermaslug)
          .thenComparing(ActivityItem::providerName);

  private static final JsonFactory JSON = new JsonFactory();

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
   * Writes the item as one JSON object: exactly the contract's fields, plus workspace_id / user_id
   * / api_key_hash when the request grouped by them (without the workspace grouping an item has no
   * workspace_id at all: OpenRouter's historical shape). Money is an exact JSON number, plain,
   * without trailing zeros; integers are written whole. Streamed rather than built as a tree: large
   * answers have thousands of items.
   */
  public void writeTo(JsonGenerator json, ActivityRequest.Grouping grouping) throws IOException {
    json.writeStartObject();
    json.writeStringField("date", date.toString());
    json.writeStringField("model", model);
    json.writeStringField("model_permaslug", modelPermaslug);
    json.writeStringField("endpoint_id", endpointId);
    json.writeStringField("provider_name", providerName);
    JsonText.writeMoneyField(json, "usage", usage);
    JsonText.writeMoneyField(json, "byok_usage_inference", byokUsageInference);
    json.writeFieldName("requests");
    json.writeNumber(requests);
    json.writeFieldName("prompt_tokens");
    json.writeNumber(promptTokens);
    json.writeFieldName("completion_tokens");
    json.writeNumber(completionTokens);
    json.writeFieldName("reasoning_tokens");
    json.writeNumber(reasoningTokens);
    json.writeFieldName("cached_tokens");
    json.writeNumber(cachedTokens);
    json.writeFieldName("byok_requests");
    json.writeNumber(byokRequests);
    if (grouping.workspace()) {
      json.writeStringField("workspace_id", workspaceId);
    }
    if (grouping.user()) {
      JsonText.writeNullableStringField(json, "user_id", userId);
    }
    if (grouping.apiKey()) {
      json.writeStringField("api_key_hash", apiKeyHash);
    }
    json.writeEndObject();
  }

  /**
   * {@code items} as JSON objects separated by commas, exactly as they stand inside the answer's
   * {@code data} array ({@code ""} for none), so a day's part can be rendered once and joined with
   * others.
   */
  public static String jsonObjects(List<ActivityItem> items, ActivityRequest.Grouping grouping) {
    StringWriter out = new StringWriter(400 * items.size());
    try (JsonGenerator json = JSON.createGenerator(out)) {
      json.setRootValueSeparator(new SerializedString(","));
      for (ActivityItem item : items) {
        item.writeTo(json, grouping);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing to a string cannot fail", e);
    }
    return out.toString();
  }
}
