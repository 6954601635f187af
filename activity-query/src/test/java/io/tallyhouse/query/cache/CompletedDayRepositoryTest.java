package io.tallyhouse.query.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.query.activity.ActivityRepositoryTest;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The SQL text of the cache's loads and polls; the integration test proves what the server does.
 */
class CompletedDayRepositoryTest {

  @Test
  void completedDaysAreLoadedForOneAccountInOneStatement() {
    assertEquals(
        "SELECT toString(date) AS day, workspace_id, api_key_hash, user_id, endpoint_id, model,"
            + " model_permaslug, provider_name"
            + ActivityRepositoryTest.SUMS
            + " FROM usage_daily FINAL WHERE account_id = 'o\\'brien'"
            + " AND date IN (toDate('2026-11-21'), toDate('2026-11-19'))"
            + " GROUP BY date, workspace_id, api_key_hash, user_id, endpoint_id, model,"
            + " model_permaslug, provider_name",
        CompletedDayRepository.completedDaysSql(
            "o'brien", List.of(LocalDate.parse("2026-11-21"), LocalDate.parse("2026-11-19"))));
  }

  @Test
  void changeMarkersAreSummedPerAccountAndDayOfTheWindow() {
    assertEquals(
        "SELECT account_id, toString(date) AS day, sum(inserts) AS inserts_sum FROM usage_daily_changes"
            + " WHERE date >= toDate('2026-10-23') AND date <= toDate('2026-11-21') GROUP BY account_id, date",
        CompletedDayRepository.changeMarkersSql(
            LocalDate.parse("2026-10-23"), LocalDate.parse("2026-11-21")));
    assertEquals(
        "SELECT sum(inserts) AS inserts_sum FROM usage_daily_changes"
            + " WHERE date >= toDate('2026-10-23') AND date <= toDate('2026-11-21')",
        CompletedDayRepository.changeMarkerTotalSql(
            LocalDate.parse("2026-10-23"), LocalDate.parse("2026-11-21")));
  }

  @Test
  void theWarmUpOrdersTheWindowsAccountsByLatestDayThenRequests() {
    assertEquals(
        "SELECT account_id, max(date) AS last_active, sum(requests) AS requests_sum"
            + " FROM usage_daily WHERE date >= toDate('2026-10-23') AND date <= toDate('2026-11-21')"
            + " GROUP BY account_id ORDER BY last_active DESC, requests_sum DESC, account_id",
        CompletedDayRepository.recentAccountsSql(
            LocalDate.parse("2026-10-23"), LocalDate.parse("2026-11-21")));
  }
}
