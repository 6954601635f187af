package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.LocalDate;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The SQL text the repository sends; the integration test proves what the server makes of it. */
class ActivityRepositoryTest {

  private static final String SUMS = ", sum(requests) AS requests_sum, sum(prompt_tokens) AS prompt_tokens_sum"
      + ", sum(completion_tokens) AS completion_tokens_sum, sum(reasoning_tokens) AS reasoning_tokens_sum"
      + ", sum(cached_tokens) AS cached_tokens_sum, sum(byok_requests) AS byok_requests_sum"
      + ", toString(sum(usage)) AS usage_sum, toString(sum(byok_usage_inference)) AS byok_usage_inference_sum";

  @Test
  void windowWithoutFilters() {
    ActivityRequest request = new ActivityRequest(LocalDate.parse("2026-10-23"), LocalDate.parse("2026-11-21"),
        Optional.empty(), Optional.empty(), false, false);
    assertEquals("SELECT toString(date) AS day, endpoint_id, model, model_permaslug, provider_name" + SUMS
        + " FROM usage_daily FINAL WHERE account_id = 'acme'"
        + " AND date >= toDate('2026-10-23') AND date <= toDate('2026-11-21')"
        + " GROUP BY date, endpoint_id, model, model_permaslug, provider_name",
        ActivityRepository.activitySql("acme", request));
  }

  @Test
  void oneDayWithFiltersAndBothGroupings() {
    ActivityRequest request = new ActivityRequest(LocalDate.parse("2026-11-01"), LocalDate.parse("2026-11-01"),
        Optional.of("ab".repeat(32)), Optional.of("it's \\ me"), true, true);
    assertEquals("SELECT toString(date) AS day, endpoint_id, model, model_permaslug, provider_name, user_id"
        + ", api_key_hash" + SUMS
        + " FROM usage_daily FINAL WHERE account_id = 'o\\'brien'"
        + " AND date = toDate('2026-11-01') AND api_key_hash = '" + "ab".repeat(32) + "'"
        + " AND user_id = 'it\\'s \\\\ me'"
        + " GROUP BY date, endpoint_id, model, model_permaslug, provider_name, user_id, api_key_hash",
        ActivityRepository.activitySql("o'brien", request));
  }

  @Test
  void apiKeyLookupIsScopedToTheAccount() {
    assertEquals("SELECT 1 AS found FROM api_key_hashes WHERE account_id = 'acme' AND api_key_hash = 'ff' LIMIT 1",
        ActivityRepository.apiKeyKnownSql("acme", "ff"));
  }
}
