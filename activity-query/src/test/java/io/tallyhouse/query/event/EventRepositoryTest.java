package io.tallyhouse.query.event;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The lookup's SQL text; EventLookupIntegrationTest proves what the server answers to it, hostile
 * ids included.
 */
class EventRepositoryTest {

  @Test
  void readsOneRowOfTheCallersAccountWithFinalEveryValueALiteral() {
    assertEquals(
        "SELECT event_id, account_id, api_key_hash, user, model, model_permaslug, provider_name,"
            + " endpoint_id, toString(created_at_us) AS created_at_text,"
            + " toString(prompt_tokens) AS prompt_tokens_text,"
            + " toString(completion_tokens) AS completion_tokens_text,"
            + " toString(reasoning_tokens) AS reasoning_tokens_text,"
            + " toString(cached_tokens) AS cached_tokens_text, toString(cost) AS cost_text,"
            + " is_byok, toString(byok_cost) AS byok_cost_text, app, workspace_id,"
            + " toString(received_at_us) AS received_at_text"
            + " FROM usage_events FINAL WHERE account_id = 'acme'"
            + " AND event_id = 'it\\'s \\\\\\' OR 1=1 --'"
            + " ORDER BY received_at_us, created_at_us LIMIT 1",
        EventRepository.findSql("acme", "it's \\' OR 1=1 --"));
  }
}
