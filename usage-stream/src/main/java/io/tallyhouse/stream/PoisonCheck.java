package io.tallyhouse.stream;

import io.tallyhouse.schemas.avro.UsageEvent;

/**
 * The invariants the rollup relies on, checked again on the stream side: the events topic may be written by
 * something other than gateway-ingest, and one bad record must not corrupt a customer's totals.
 */
final class PoisonCheck {


  private PoisonCheck() {}

  /** Why the event must not be counted, or null when it is fine. */
  static String problem(UsageEvent e) {
    if (e.getEventId().isEmpty() || e.getEventId().length() > 128) {
      return "event_id must be 1-128 characters";
    }
    if (!isAccountId(e.getAccountId())) {
      return "account_id is not a valid account id";
    }
    if (!isLowerHex64(e.getApiKeyHash())) {
      return "api_key_hash must be 64 lowercase hex characters";
    }
    if (e.getModel().isEmpty() || e.getProviderName().isEmpty() || e.getEndpointId().isEmpty()
        || e.getModelPermaslug().isEmpty()) {
      return "model, model_permaslug, provider_name and endpoint_id must not be empty";
    }
    if (e.getUser() != null && e.getUser().isEmpty()) {
      return "user must be null or non-empty";
    }
    // The group key joins these fields with the separator; one inside a field would shift the others.
    for (String field : new String[] {e.getUser(), e.getModel(), e.getModelPermaslug(), e.getProviderName(),
        e.getEndpointId()}) {
      if (field != null && field.indexOf(Rollup.SEP) >= 0) {
        return "user, model, model_permaslug, provider_name and endpoint_id must not contain U+001F";
      }
    }
    // ClickHouse's DateTime holds 1970 to 2106; a row outside it would be stored as another time.
    if (!inClickHouseRange(e.getCreatedAt()) || !inClickHouseRange(e.getReceivedAt())) {
      return "created_at and received_at must be between 1970-01-01 and 2105-12-31 (UTC)";
    }
    if (e.getCost().signum() < 0 || e.getByokCost().signum() < 0) {
      return "cost and byok_cost must not be negative";
    }
    if (e.getPromptTokens() < 0 || e.getCompletionTokens() < 0 || e.getReasoningTokens() < 0
        || e.getCachedTokens() < 0) {
      return "token counts must not be negative";
    }
    return null;
  }

  private static final long FIRST_SECOND_AFTER_RANGE = java.time.Instant.parse("2106-01-01T00:00:00Z").getEpochSecond();

  private static boolean inClickHouseRange(java.time.Instant t) {
    return t.getEpochSecond() >= 0 && t.getEpochSecond() < FIRST_SECOND_AFTER_RANGE;
  }

  // Plain loops rather than regular expressions: these run for every event on the stream thread.

  /** [A-Za-z0-9._:-]{1,128}, the contract's account id. */
  static boolean isAccountId(String s) {
    if (s.isEmpty() || s.length() > 128) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':'
          || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** [0-9a-f]{64}, a SHA-256 in lowercase hex. */
  static boolean isLowerHex64(String s) {
    if (s.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = s.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }
}
