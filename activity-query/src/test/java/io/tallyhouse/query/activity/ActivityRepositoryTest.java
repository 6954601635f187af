package io.tallyhouse.query.activity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The SQL text the repository sends and how it reads rows; the integration test proves what the
 * server does.
 */
public class ActivityRepositoryTest {

  /** The sums every statement selects after its group columns, as sent. */
  public static final String SUMS =
      ", sum(requests) AS requests_sum, sum(prompt_tokens) AS prompt_tokens_sum"
          + ", sum(completion_tokens) AS completion_tokens_sum, sum(reasoning_tokens) AS reasoning_tokens_sum"
          + ", sum(cached_tokens) AS cached_tokens_sum, sum(byok_requests) AS byok_requests_sum"
          + ", sum(usage) AS usage_sum, sum(toDecimal128(usage, 0)) AS usage_sum_whole"
          + ", countIf(usage < 0) AS usage_sum_negative, count() AS usage_sum_rows"
          + ", sum(byok_usage_inference) AS byok_usage_inference_sum"
          + ", sum(toDecimal128(byok_usage_inference, 0)) AS byok_usage_inference_sum_whole"
          + ", countIf(byok_usage_inference < 0) AS byok_usage_inference_sum_negative"
          + ", count() AS byok_usage_inference_sum_rows";

  @Test
  void windowWithoutFilters() {
    ActivityRequest request =
        new ActivityRequest(
            LocalDate.parse("2026-10-23"),
            LocalDate.parse("2026-11-21"),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            ActivityRequest.Grouping.NONE);
    assertEquals(
        "SELECT toString(date) AS day, endpoint_id, model, model_permaslug, provider_name"
            + SUMS
            + " FROM usage_daily FINAL WHERE account_id = 'acme'"
            + " AND date >= toDate('2026-10-23') AND date <= toDate('2026-11-21')"
            + " GROUP BY date, endpoint_id, model, model_permaslug, provider_name",
        ActivityRepository.activitySql("acme", request));
  }

  @Test
  void oneDayWithFiltersAndEveryGrouping() {
    ActivityRequest request =
        new ActivityRequest(
            LocalDate.parse("2026-11-01"),
            LocalDate.parse("2026-11-01"),
            Optional.of("ws-1"),
            Optional.of("ab".repeat(32)),
            Optional.of("it's \\ me"),
            new ActivityRequest.Grouping(true, true, true));
    assertEquals(
        "SELECT toString(date) AS day, endpoint_id, model, model_permaslug, provider_name"
            + ", workspace_id, user_id, api_key_hash"
            + SUMS
            + " FROM usage_daily FINAL WHERE account_id = 'o\\'brien'"
            + " AND date = toDate('2026-11-01') AND workspace_id = 'ws-1' AND api_key_hash = '"
            + "ab".repeat(32)
            + "'"
            + " AND user_id = 'it\\'s \\\\ me'"
            + " GROUP BY date, endpoint_id, model, model_permaslug, provider_name, workspace_id,"
            + " user_id, api_key_hash",
        ActivityRepository.activitySql("o'brien", request));
  }

  @Test
  void theDefaultWorkspaceIsFilteredAsUsageDailyStoresIt() {
    ActivityRequest request =
        ActivityRequest.parse(
            java.util.Map.of("workspace_id", List.of("default")), LocalDate.parse("2026-11-22"));
    assertEquals(Optional.of("default"), request.workspaceId());
    String sql = ActivityRepository.activitySql("acme", request);
    assertTrue(sql.contains(" AND workspace_id = '' GROUP BY"), sql);
  }

  @Test
  void rowsAreReadExactlyWhetherIntegersAreQuotedOrNot() {
    ActivityRequest byUser =
        new ActivityRequest(
            LocalDate.parse("2026-11-01"),
            LocalDate.parse("2026-11-21"),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            new ActivityRequest.Grouping(false, true, false));
    String rows =
        "{\"day\":\"2026-11-21\",\"endpoint_id\":\"e\",\"model\":\"m\",\"model_permaslug\":\"m-1\","
            + "\"provider_name\":\"P\",\"user_id\":\"\",\"requests_sum\":\"18446744073709551615\","
            + "\"prompt_tokens_sum\":2,\"completion_tokens_sum\":\"3\",\"reasoning_tokens_sum\":\"0\","
            + "\"cached_tokens_sum\":\"1\",\"byok_requests_sum\":\"0\",\"usage_sum\":123456789.123456789012,"
            + "\"usage_sum_whole\":123456788,\"usage_sum_negative\":\"0\",\"usage_sum_rows\":\"3\","
            + "\"byok_usage_inference_sum\":0.000000000001,\"byok_usage_inference_sum_whole\":0,"
            + "\"byok_usage_inference_sum_negative\":\"0\",\"byok_usage_inference_sum_rows\":\"3\","
            + "\"extra\":[1,{\"x\":2}]}\n"
            + "{\"day\":\"2026-10-02\",\"endpoint_id\":\"e\",\"model\":\"m\",\"model_permaslug\":\"m\","
            + "\"provider_name\":\"P\",\"user_id\":\"ü'ser\",\"requests_sum\":\"1\",\"prompt_tokens_sum\":\"1\","
            + "\"completion_tokens_sum\":\"1\",\"reasoning_tokens_sum\":\"1\",\"cached_tokens_sum\":\"1\","
            + "\"byok_requests_sum\":\"1\",\"usage_sum\":0.000000000000,"
            + "\"usage_sum_whole\":0,\"usage_sum_negative\":\"0\",\"usage_sum_rows\":\"1\","
            + "\"byok_usage_inference_sum\":0,\"byok_usage_inference_sum_whole\":0,"
            + "\"byok_usage_inference_sum_negative\":0,\"byok_usage_inference_sum_rows\":1}\n";
    List<ActivityItem> items =
        ActivityRepository.readItems(rows.getBytes(StandardCharsets.UTF_8), "acme", byUser);
    assertEquals(2, items.size());
    ActivityItem first = items.get(0);
    assertEquals(LocalDate.parse("2026-11-21"), first.date());
    assertEquals("m-1", first.modelPermaslug());
    assertNull(first.userId(), "'' is no user");
    assertEquals(new BigInteger("18446744073709551615"), first.requests());
    assertEquals(BigInteger.TWO, first.promptTokens());
    assertEquals(new BigDecimal("123456789.123456789012"), first.usage());
    assertEquals(new BigDecimal("0.000000000001"), first.byokUsageInference());
    assertNull(first.apiKeyHash(), "not grouped by api key");
    assertEquals("ü'ser", items.get(1).userId());
    assertEquals(LocalDate.parse("2026-10-02"), items.get(1).date());
  }

  @Test
  void apiKeyLookupIsScopedToTheAccount() {
    assertEquals(
        "SELECT 1 AS found FROM api_key_hashes WHERE account_id = 'acme' AND api_key_hash = 'ff' LIMIT 1",
        ActivityRepository.apiKeyKnownSql("acme", "ff"));
  }

  @Test
  void workspaceLookupIsScopedToTheAccountAndReadsTheIdAsShown() {
    assertEquals(
        "SELECT 1 AS found FROM workspaces WHERE account_id = 'acme' AND workspace_id = 'default'"
            + " LIMIT 1",
        ActivityRepository.workspaceKnownSql("acme", "default"));
  }
}
