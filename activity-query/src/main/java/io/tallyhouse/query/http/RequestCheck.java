package io.tallyhouse.query.http;

import io.tallyhouse.query.activity.FilteredRequest;
import io.tallyhouse.query.activity.InvalidParameterException;
import io.tallyhouse.query.auth.ManagementKeys;
import io.tallyhouse.query.auth.ReportedFilters;
import io.tallyhouse.query.auth.ReportedFilters.Filter;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * The checks both routes make, in the contract's order: key (401/403), query string and parameters
 * (400), then whether the account ever reported the workspace_id and api_key_hash filters (404).
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
   * @param reported whether an account reported a filter's value
   */
  <R extends FilteredRequest> Checked<R> check(
      String authorization,
      Map<String, List<String>> params,
      BiFunction<Map<String, List<String>>, LocalDate, R> parser,
      ReportedFilters.Lookup reported) {
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
    Checked<R> unknown = unreported(Filter.WORKSPACE_ID, request.workspaceId(), account, reported);
    if (unknown == null) {
      unknown = unreported(Filter.API_KEY_HASH, request.apiKeyHash(), account, reported);
    }
    return unknown != null ? unknown : new Checked<>(account, request, null);
  }

  /** The 404 of a filter value {@code account} never reported, or null. */
  private static <R> Checked<R> unreported(
      Filter filter, Optional<String> value, String account, ReportedFilters.Lookup reported) {
    if (value.isPresent() && !reported.reported(filter, account, value.get())) {
      return Checked.refuse(404, filter.unknownMessage());
    }
    return null;
  }
}
