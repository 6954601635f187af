package io.tallyhouse.query.event;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.query.activity.ActivityRepository;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * The SQL of {@code GET /api/v1/events/{event_id}}: one row of {@code usage_events}, the raw table
 * usage-stream writes one row per distinct event into. Every value reaches the statement through
 * {@link SqlLiteral}; column and table names are constants.
 */
public final class EventRepository {

  /** The {@code query} tag of {@link ActivityRepository#QUERY_TIMER} for the lookup. */
  public static final String QUERY = "event";

  private final ClickHouse clickHouse;
  private final MeterRegistry metrics;

  public EventRepository(ClickHouse clickHouse, MeterRegistry metrics) {
    this.clickHouse = clickHouse;
    this.metrics = metrics;
  }

  /**
   * The event {@code eventId} of {@code account}; empty when the account has no such event: never
   * reported, reported by another account only, or in a day partition that raw retention dropped.
   */
  public Optional<StoredEvent> find(String account, String eventId) {
    List<JsonNode> rows =
        ActivityRepository.timed(metrics, QUERY, () -> clickHouse.query(findSql(account, eventId)));
    return rows.isEmpty() ? Optional.empty() : Optional.of(read(rows.get(0)));
  }

  /**
   * FINAL: a writer retry may have inserted the event twice, and the copies share the sorting key
   * (account_id, event_id), so FINAL keeps one even before the parts merge. The copies of one event
   * share its day, hence its partition, where FINAL works; LIMIT 1 with an order makes the answer
   * the first received row even if a table ever held two rows of one id in different partitions.
   * Money and counts are selected as text, so no number passes through a double on the way.
   */
  public static String findSql(String account, String eventId) {
    return "SELECT event_id, account_id, api_key_hash, user, model, model_permaslug, provider_name,"
        + " endpoint_id, toString(created_at_us) AS created_at_text,"
        + " toString(prompt_tokens) AS prompt_tokens_text,"
        + " toString(completion_tokens) AS completion_tokens_text,"
        + " toString(reasoning_tokens) AS reasoning_tokens_text,"
        + " toString(cached_tokens) AS cached_tokens_text, toString(cost) AS cost_text,"
        + " is_byok, toString(byok_cost) AS byok_cost_text, app, workspace_id,"
        + " toString(received_at_us) AS received_at_text"
        + " FROM usage_events FINAL WHERE account_id = "
        + SqlLiteral.string(account)
        + " AND event_id = "
        + SqlLiteral.string(eventId)
        + " ORDER BY received_at_us, created_at_us LIMIT 1";
  }

  private static StoredEvent read(JsonNode row) {
    return new StoredEvent(
        text(row, "event_id"),
        text(row, "account_id"),
        text(row, "api_key_hash"),
        nullableText(row, "user"),
        text(row, "model"),
        text(row, "model_permaslug"),
        text(row, "provider_name"),
        text(row, "endpoint_id"),
        Long.parseLong(text(row, "created_at_text")),
        Long.parseLong(text(row, "prompt_tokens_text")),
        Long.parseLong(text(row, "completion_tokens_text")),
        Long.parseLong(text(row, "reasoning_tokens_text")),
        Long.parseLong(text(row, "cached_tokens_text")),
        new BigDecimal(text(row, "cost_text")),
        !"0".equals(text(row, "is_byok")),
        new BigDecimal(text(row, "byok_cost_text")),
        nullableText(row, "app"),
        // '' is no workspace id: a row inserted without the column in a format that skips its
        // DEFAULT (JSONEachRow on 18.16) holds it, and it means the default workspace there too.
        Workspaces.shown(text(row, "workspace_id")),
        Long.parseLong(text(row, "received_at_text")));
  }

  private static String text(JsonNode row, String column) {
    JsonNode value = row.get(column);
    if (value == null || value.isNull()) {
      throw new IllegalStateException("usage_events row without " + column);
    }
    return value.asText();
  }

  private static String nullableText(JsonNode row, String column) {
    JsonNode value = row.get(column);
    return value == null || value.isNull() ? null : value.asText();
  }
}
