package io.tallyhouse.stream;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
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

  /** The usage_daily row as JSONEachRow, written with a streaming generator (this runs for every update). */
  byte[] toJson() {
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
      g.writeNumberField("requests", requests);
      g.writeNumberField("prompt_tokens", promptTokens);
      g.writeNumberField("completion_tokens", completionTokens);
      g.writeNumberField("reasoning_tokens", reasoningTokens);
      g.writeNumberField("cached_tokens", cachedTokens);
      g.writeNumberField("usage", usage);
      g.writeNumberField("byok_usage_inference", byokUsageInference);
      g.writeNumberField("byok_requests", byokRequests);
      g.writeNumberField("version", version);
      g.writeStringField("updated_at", updatedAt);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Compact binary form for the rollup store: read and written for every event, so no JSON there. */
  byte[] toBytes() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      for (String s : new String[] {accountId, apiKeyHash, userId, endpointId, model, modelPermaslug, providerName,
          updatedAt}) {
        out.writeUTF(s);
      }
      out.writeLong(date.toEpochDay());
      for (long n : new long[] {requests, promptTokens, completionTokens, reasoningTokens, cachedTokens, byokRequests,
          version}) {
        out.writeLong(n);
      }
      writeDecimal(out, usage);
      writeDecimal(out, byokUsageInference);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static Rollup fromBytes(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      String[] s = new String[8];
      for (int i = 0; i < s.length; i++) {
        s[i] = in.readUTF();
      }
      LocalDate date = LocalDate.ofEpochDay(in.readLong());
      long[] n = new long[7];
      for (int i = 0; i < n.length; i++) {
        n[i] = in.readLong();
      }
      BigDecimal usage = readDecimal(in);
      BigDecimal byok = readDecimal(in);
      return new Rollup(s[0], date, s[1], s[2], s[3], s[4], s[5], s[6], n[0], n[1], n[2], n[3], n[4], usage, byok,
          n[5], n[6], s[7]);
    } catch (IOException e) {
      throw new UncheckedIOException("not a stored rollup", e);
    }
  }

  private static void writeDecimal(DataOutputStream out, BigDecimal value) throws IOException {
    byte[] unscaled = value.unscaledValue().toByteArray();
    out.writeInt(value.scale());
    out.writeShort(unscaled.length);
    out.write(unscaled);
  }

  private static BigDecimal readDecimal(DataInputStream in) throws IOException {
    int scale = in.readInt();
    byte[] unscaled = new byte[in.readShort()];
    in.readFully(unscaled);
    return new BigDecimal(new java.math.BigInteger(unscaled), scale);
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
