package io.tallyhouse.stream;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.LocalDate;

/**
 * One row of usage_daily: the totals one stream task (one partition of the events topic, the row's {@code shard})
 * counted for one group (account, UTC day of created_at, api key, user, endpoint). Readers sum a group's rows over
 * its shards; with FINAL each shard contributes only its latest version.
 *
 * <p>The JSON form is the row in JSONEachRow, money as exact JSON numbers (ClickHouse parses Decimal(38,12) from the
 * number's text, 18.16 included; it refuses quoted decimals).
 */
record Rollup(String accountId, LocalDate date, String apiKeyHash, String userId, String endpointId, String model,
    String modelPermaslug, String providerName, Totals totals) {

  static final ObjectMapper JSON = JsonMapper.builder()
      .enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN)
      .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .build();
  /** Separates the group's fields in its key; PoisonCheck keeps it out of every field. */
  static final char SEP = '\u001f';
  /** A hash prefix and the eight fields of the group. */
  private static final int KEY_FIELDS = 9;

  /**
   * The group an event belongs to; '' stands for "no user" (a contract user is never empty).
   *
   * <p>The key starts with eight hex digits of a hash of the fields. The store's cache keeps keys in a sorted map,
   * and keys that begin with the same account, day and api key hash made each lookup compare dozens of equal bytes
   * (a quarter of the stream thread's time in the benchmark); with the prefix most comparisons end in the first
   * bytes.
   */
  static String groupKey(UsageEvent e) {
    String fields = e.getAccountId() + SEP + utcDay(e) + SEP + e.getApiKeyHash() + SEP
        + (e.getUser() == null ? "" : e.getUser()) + SEP + e.getEndpointId() + SEP + e.getModel() + SEP
        + e.getModelPermaslug() + SEP + e.getProviderName();
    // String.hashCode is fixed by the language specification, so a key never changes between versions or JVMs.
    int h = fields.hashCode() * 0x9E3779B9;
    StringBuilder key = new StringBuilder(9 + fields.length());
    for (int shift = 28; shift >= 0; shift -= 4) {
      key.append(Character.forDigit((h >>> shift) & 0xf, 16));
    }
    return key.append(SEP).append(fields).toString();
  }

  static LocalDate utcDay(UsageEvent e) {
    // Not LocalDate.ofInstant: that builds the offset's ZoneRules for every event.
    return LocalDate.ofEpochDay(Math.floorDiv(e.getCreatedAt().getEpochSecond(), 86_400));
  }

  /** The row of a group key (as {@link #groupKey} builds it) and its totals. */
  static Rollup of(String groupKey, Totals totals) {
    String[] f = groupKey.split(String.valueOf(SEP), -1);
    if (f.length != KEY_FIELDS || f[0].length() != 8) {
      throw new IllegalArgumentException("not a group key: " + f.length + " fields");
    }
    return new Rollup(f[1], LocalDate.parse(f[2]), f[3], f[4], f[5], f[6], f[7], f[8], totals);
  }

  /** The usage_daily row as JSONEachRow. */
  byte[] toJson(int shard, String updatedAt) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
      g.enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);
      g.writeStartObject();
      g.writeStringField("account_id", accountId);
      g.writeStringField("date", date.toString());
      g.writeStringField("api_key_hash", apiKeyHash);
      g.writeStringField("user_id", userId);
      g.writeStringField("endpoint_id", endpointId);
      g.writeStringField("model", model);
      g.writeStringField("model_permaslug", modelPermaslug);
      g.writeStringField("provider_name", providerName);
      g.writeNumberField("shard", shard);
      g.writeNumberField("requests", totals.requests());
      g.writeNumberField("prompt_tokens", totals.promptTokens());
      g.writeNumberField("completion_tokens", totals.completionTokens());
      g.writeNumberField("reasoning_tokens", totals.reasoningTokens());
      g.writeNumberField("cached_tokens", totals.cachedTokens());
      g.writeNumberField("usage", totals.usage());
      g.writeNumberField("byok_usage_inference", totals.byokUsageInference());
      g.writeNumberField("byok_requests", totals.byokRequests());
      g.writeNumberField("version", totals.version());
      g.writeStringField("updated_at", updatedAt);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
