package io.tallyhouse.query.http;

import io.tallyhouse.query.activity.InvalidParameterException;
import io.tallyhouse.query.auth.ManagementKeys;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * The checks both routes make, in the contract's order: key (401/403), query string and parameters
 * (400), then whether the account ever reported the api_key_hash filter (404).
 */
final class RequestCheck {

  /** The caller's account and parsed request, or the reply refusing them. */
  record Checked<R>(String account, R request, Reply refusal) {
    static <R> Checked<R> refuse(int status, String message) {
      return new Checked<>(null, null, Reply.error(status, message));
    }
  }

  private final ManagementKeys keys;
  private final Clock clock;

  /**
   * @param clock decides which UTC days are completed
   */
  RequestCheck(ManagementKeys keys, Clock clock) {
    this.keys = keys;
    this.clock = clock;
  }

  /**
   * @param params the decoded query string, or null when it was malformed
   * @param parser the route's parameter rules, given today's UTC date
   * @param apiKeyHash the request's api_key_hash filter
   * @param apiKeyKnown whether an account reported a hash
   */
  <R> Checked<R> check(
      String authorization,
      Map<String, List<String>> params,
      BiFunction<Map<String, List<String>>, LocalDate, R> parser,
      Function<R, Optional<String>> apiKeyHash,
      BiPredicate<String, String> apiKeyKnown) {
    ManagementKeys.Caller caller = keys.authenticate(authorization);
    switch (caller.outcome()) {
      case MISSING:
        return Checked.refuse(401, "Missing API key");
      case UNKNOWN:
        return Checked.refuse(401, "Invalid or revoked API key");
      case NOT_MANAGEMENT:
        return Checked.refuse(403, "A management key is required");
      default:
        break;
    }
    String account = caller.account();
    if (params == null) {
      return Checked.refuse(400, "Malformed query string");
    }
    R request;
    try {
      request = parser.apply(params, LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
    } catch (InvalidParameterException e) {
      return Checked.refuse(400, e.getMessage());
    }
    Optional<String> hash = apiKeyHash.apply(request);
    if (hash.isPresent() && !apiKeyKnown.test(account, hash.get())) {
      return Checked.refuse(404, "Parameter api_key_hash: no such api key for this account");
    }
    return new Checked<>(account, request, null);
  }
}
