package io.tallyhouse.schemas.contract;

import io.tallyhouse.schemas.avro.UsageEvent;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The per-field rules of a usage event (CONTRACT.md section 1), in one place: gateway-ingest checks
 * a request's fields with them, and usage-stream decides with {@link #violation(UsageEvent)}
 * whether a record can be counted. Ingest also runs that same check on every event it built, so
 * nothing it accepts can be refused downstream.
 *
 * <p>Each field check returns why the value breaks the rule (a message to follow the field's name),
 * or null when it is fine. Lengths are Unicode code points. The checks are plain loops without
 * allocation: the stream runs them for every record.
 */
public final class EventRules {

  /** Every field of a usage event, in the contract's order (CONTRACT.md section 1). */
  public static final List<String> FIELDS =
      List.of(
          "event_id",
          "account_id",
          "api_key_hash",
          "user",
          "model",
          "model_permaslug",
          "provider_name",
          "endpoint_id",
          "created_at",
          "prompt_tokens",
          "completion_tokens",
          "reasoning_tokens",
          "cached_tokens",
          "cost",
          "is_byok",
          "byok_cost",
          "app",
          "workspace_id");

  public static final int EVENT_ID_MAX = 128;
  public static final int ACCOUNT_ID_MAX = 128;
  public static final int USER_MAX = 256;
  public static final int MODEL_MAX = 256;
  public static final int PROVIDER_NAME_MAX = 128;
  public static final int ENDPOINT_ID_MAX = 128;

  /**
   * A defaulted endpoint_id is {@code <provider_name>/<model_permaslug>}, longer than one a client
   * may send.
   */
  public static final int STORED_ENDPOINT_ID_MAX = PROVIDER_NAME_MAX + 1 + MODEL_MAX;

  public static final int APP_MAX = 256;
  public static final long MAX_TOKENS = 1_000_000_000_000L;

  /**
   * How far in the future created_at may be: ingest checks it against its clock, the stream against
   * the broker's.
   */
  public static final Duration MAX_FUTURE_SKEW = Duration.ofMinutes(5);

  /**
   * ClickHouse's DateTime ends in 2106; a time outside [1970, 2106) would be stored as another
   * time.
   */
  private static final long FIRST_SECOND_AFTER_RANGE =
      Instant.parse("2106-01-01T00:00:00Z").getEpochSecond();

  private static final String ACCOUNT_ID_RULE =
      "must be 1-" + ACCOUNT_ID_MAX + " characters of A-Z a-z 0-9 . _ : -";

  private EventRules() {}

  /** A broken rule: the field and what is wrong with it. */
  public record Violation(String field, String message) {
    @Override
    public String toString() {
      return field + " " + message;
    }
  }

  /** The first rule this event breaks, or null when it can be counted. */
  public static Violation violation(UsageEvent e) {
    String p;
    if ((p = eventIdProblem(e.getEventId())) != null) {
      return new Violation("event_id", p);
    }
    if ((p = accountIdProblem(e.getAccountId())) != null) {
      return new Violation("account_id", p);
    }
    if ((p = storedApiKeyHashProblem(e.getApiKeyHash())) != null) {
      return new Violation("api_key_hash", p);
    }
    if (e.getUser() != null && (p = textProblem(e.getUser(), USER_MAX)) != null) {
      return new Violation("user", p);
    }
    if ((p = textProblem(e.getModel(), MODEL_MAX)) != null) {
      return new Violation("model", p);
    }
    if ((p = textProblem(e.getModelPermaslug(), MODEL_MAX)) != null) {
      return new Violation("model_permaslug", p);
    }
    if ((p = textProblem(e.getProviderName(), PROVIDER_NAME_MAX)) != null) {
      return new Violation("provider_name", p);
    }
    if ((p = textProblem(e.getEndpointId(), STORED_ENDPOINT_ID_MAX)) != null) {
      return new Violation("endpoint_id", p);
    }
    if (e.getApp() != null && (p = textProblem(e.getApp(), APP_MAX)) != null) {
      return new Violation("app", p);
    }
    if ((p = timeProblem(e.getCreatedAt())) != null) {
      return new Violation("created_at", p);
    }
    if ((p = timeProblem(e.getReceivedAt())) != null) {
      return new Violation("received_at", p);
    }
    if ((p = tokensProblem(e.getPromptTokens())) != null) {
      return new Violation("prompt_tokens", p);
    }
    if ((p = tokensProblem(e.getCompletionTokens())) != null) {
      return new Violation("completion_tokens", p);
    }
    if ((p = tokensProblem(e.getReasoningTokens())) != null) {
      return new Violation("reasoning_tokens", p);
    }
    if ((p = tokensProblem(e.getCachedTokens())) != null) {
      return new Violation("cached_tokens", p);
    }
    if ((p = moneyProblem(e.getCost())) != null) {
      return new Violation("cost", p);
    }
    if ((p = moneyProblem(e.getByokCost())) != null) {
      return new Violation("byok_cost", p);
    }
    if ((p = workspaceIdProblem(e.getWorkspaceId())) != null) {
      return new Violation("workspace_id", p);
    }
    return null;
  }

  /** 1-128 code points without whitespace or control characters. */
  public static String eventIdProblem(String s) {
    return scan(s, EVENT_ID_MAX, true);
  }

  /**
   * 1-{@code max} code points of any Unicode except control characters; a lone surrogate is no
   * character.
   */
  public static String textProblem(String s, int max) {
    return scan(s, max, false);
  }

  /** [A-Za-z0-9._:-]{1,128}. */
  public static String accountIdProblem(String s) {
    if (s.isEmpty() || s.length() > ACCOUNT_ID_MAX) {
      return ACCOUNT_ID_RULE;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(c >= 'a' && c <= 'z'
          || c >= 'A' && c <= 'Z'
          || c >= '0' && c <= '9'
          || c == '.'
          || c == '_'
          || c == ':'
          || c == '-')) {
        return ACCOUNT_ID_RULE;
      }
    }
    return null;
  }

  /**
   * A workspace id follows the account id's rule (CONTRACT.md section 1): the event field and the
   * activity API's filter alike.
   */
  public static String workspaceIdProblem(String s) {
    return accountIdProblem(s);
  }

  /** 64 hex characters in either case, as a client may send the SHA-256 of its key. */
  public static String apiKeyHashProblem(String s) {
    return isHex64(s, true) ? null : "must be the SHA-256 of the API key: 64 hex characters";
  }

  /**
   * 64 lowercase hex characters, as ingest stores the hash: other cases would be other keys
   * downstream.
   */
  public static String storedApiKeyHashProblem(String s) {
    return isHex64(s, false)
        ? null
        : "must be 64 lowercase hex characters (the SHA-256 of the API key)";
  }

  /** 0 to 10^12. */
  public static String tokensProblem(long n) {
    return n >= 0 && n <= MAX_TOKENS ? null : "must be between 0 and 10^12";
  }

  /** 0 to 10^9 inclusive with at most 12 fractional digits. */
  public static String moneyProblem(BigDecimal amount) {
    if (amount.signum() < 0) {
      return "must not be negative";
    }
    if (amount.compareTo(Money.MAX) > 0) {
      return "must be at most 10^9 (1000000000)";
    }
    // Amounts read from Avro already have scale 12: only other scales pay for stripping.
    if (amount.scale() > Money.SCALE && amount.stripTrailingZeros().scale() > Money.SCALE) {
      return "must have at most " + Money.SCALE + " fractional digits";
    }
    return null;
  }

  /** Inside ClickHouse's DateTime range. */
  public static String timeProblem(Instant t) {
    long second = t.getEpochSecond();
    return second >= 0 && second < FIRST_SECOND_AFTER_RANGE
        ? null
        : "must be between 1970-01-01 and 2105-12-31 (UTC), the range of ClickHouse's DateTime";
  }

  // Over chars, not code points: every whitespace and control character is in the BMP, and a
  // surrogate pair is
  // checked as a pair, so one pass counts code points and finds lone surrogates.
  private static String scan(String s, int max, boolean noWhitespace) {
    int length = s.length();
    int codePoints = 0;
    for (int i = 0; i < length; i++, codePoints++) {
      char c = s.charAt(i);
      if (Character.isSurrogate(c)) {
        if (!Character.isHighSurrogate(c)
            || i + 1 == length
            || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return "must be valid Unicode: it holds a lone surrogate (an unpaired \\ud800-\\udfff)";
        }
        i++;
      } else if (Character.isISOControl(c)) {
        return noWhitespace
            ? "must not contain whitespace or control characters"
            : "must not contain control characters";
      } else if (noWhitespace && (Character.isWhitespace(c) || Character.isSpaceChar(c))) {
        return "must not contain whitespace or control characters";
      }
    }
    if (codePoints < 1 || codePoints > max) {
      return "must be 1-" + max + " characters, got " + codePoints;
    }
    return null;
  }

  private static boolean isHex64(String s, boolean upperCaseToo) {
    if (s.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = s.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || upperCaseToo && c >= 'A' && c <= 'F')) {
        return false;
      }
    }
    return true;
  }
}
