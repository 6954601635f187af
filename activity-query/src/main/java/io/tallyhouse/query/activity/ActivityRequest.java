package io.tallyhouse.query.activity;

import io.tallyhouse.schemas.contract.EventRules;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The validated query of one {@code GET /api/v1/activity}: the days to read and the optional
 * filters and groupings. Built only by {@link #parse}, so everything past it can trust the values.
 *
 * @param from first day read (inclusive)
 * @param to last day read (inclusive)
 * @param workspaceId workspace filter as the API shows it ({@code default} for the default
 *     workspace), when given
 * @param apiKeyHash lowercase 64-hex filter, when given
 * @param userId exact user filter, when given
 * @param grouping how items are split beyond (date, endpoint)
 */
public record ActivityRequest(
    LocalDate from,
    LocalDate to,
    Optional<String> workspaceId,
    Optional<String> apiKeyHash,
    Optional<String> userId,
    Grouping grouping)
    implements FilteredRequest {

  /**
   * The {@code group_by} of a request: whether items are split per workspace, per user, per api
   * key.
   */
  public record Grouping(boolean workspace, boolean user, boolean apiKey) {

    /** No split: one item per (date, endpoint), summed across workspaces, users and keys. */
    public static final Grouping NONE = new Grouping(false, false, false);
  }

  /** Completed days visible: {@code [today-30, today-1]}. */
  public static final int WINDOW_DAYS = 30;

  public static final int MAX_USER_ID_CODE_POINTS = 256;

  static final String DATE_MESSAGE = "Date must be within the last 30 (completed) UTC days";

  private static final Pattern DATE = Pattern.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}");
  private static final Pattern HASH = Pattern.compile("[0-9a-fA-F]{64}");
  private static final List<String> PARAMETERS =
      List.of("date", "workspace_id", "api_key_hash", "user_id", "group_by");

  /**
   * Validates the parameters of a request made on {@code today} (UTC).
   *
   * @param params every query parameter with all its values, already percent-decoded; unknown names
   *     are ignored
   * @throws InvalidParameterException when a known parameter is invalid or given more than once
   */
  public static ActivityRequest parse(Map<String, List<String>> params, LocalDate today) {
    // A repeated parameter is ambiguous (which filter did the caller mean?), so it is refused, not
    // guessed.
    for (String name : PARAMETERS) {
      List<String> values = params.get(name);
      if (values != null && values.size() > 1) {
        throw new InvalidParameterException("Parameter " + name + " must be given at most once");
      }
    }
    LocalDate first = today.minusDays(WINDOW_DAYS);
    LocalDate last = today.minusDays(1);
    LocalDate from = first;
    LocalDate to = last;
    String date = single(params, "date");
    if (date != null) {
      LocalDate day = parseDate(date);
      if (day == null || day.isBefore(first) || day.isAfter(last)) {
        throw new InvalidParameterException(DATE_MESSAGE);
      }
      from = day;
      to = day;
    }

    String workspace = workspaceId(params);

    String hash = single(params, "api_key_hash");
    if (hash != null && !HASH.matcher(hash).matches()) {
      throw new InvalidParameterException(
          "Parameter api_key_hash must be 64 hexadecimal characters");
    }

    String user = single(params, "user_id");
    if (user != null && !validUserId(user)) {
      throw new InvalidParameterException(
          "Parameter user_id must be 1-256 characters without control characters");
    }

    boolean byWorkspace = false;
    boolean byUser = false;
    boolean byKey = false;
    String groupBy = single(params, "group_by");
    if (groupBy != null) {
      // split with limit -1 keeps empty parts, so "user," and ",user" are refused like any other
      // typo.
      for (String part : groupBy.split(",", -1)) {
        if (part.equals("workspace") && !byWorkspace) {
          byWorkspace = true;
        } else if (part.equals("user") && !byUser) {
          byUser = true;
        } else if (part.equals("api_key") && !byKey) {
          byKey = true;
        } else {
          throw new InvalidParameterException(
              "Parameter group_by must be a comma-separated list of workspace, user, api_key (each at"
                  + " most once)");
        }
      }
    }
    return new ActivityRequest(
        from,
        to,
        Optional.ofNullable(workspace),
        Optional.ofNullable(hash).map(h -> h.toLowerCase(Locale.ROOT)),
        Optional.ofNullable(user),
        new Grouping(byWorkspace, byUser, byKey));
  }

  public boolean groupByWorkspace() {
    return grouping.workspace();
  }

  public boolean groupByUser() {
    return grouping.user();
  }

  public boolean groupByApiKey() {
    return grouping.apiKey();
  }

  /**
   * The {@code workspace_id} parameter (OpenRouter's workspace filter), or null when not given.
   *
   * @throws InvalidParameterException when it breaks the event field's rule
   */
  public static String workspaceId(Map<String, List<String>> params) {
    String workspace = single(params, "workspace_id");
    String problem = workspace == null ? null : EventRules.workspaceIdProblem(workspace);
    if (problem != null) {
      throw new InvalidParameterException("Parameter workspace_id " + problem);
    }
    return workspace;
  }

  public static String single(Map<String, List<String>> params, String name) {
    List<String> values = params.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** Strict YYYY-MM-DD of a real day, or null. */
  public static LocalDate parseDate(String text) {
    if (!DATE.matcher(text).matches()) {
      return null;
    }
    try {
      return LocalDate.parse(text);
    } catch (DateTimeException e) {
      return null;
    }
  }

  /**
   * 1-256 code points, no control characters and no unpaired surrogates (they cannot be stored as
   * UTF-8).
   */
  public static boolean validUserId(String user) {
    if (user.isEmpty()) {
      return false;
    }
    int count = 0;
    for (int i = 0; i < user.length(); ) {
      int cp = user.codePointAt(i);
      if (Character.isISOControl(cp) || cp <= 0xFFFF && Character.isSurrogate((char) cp)) {
        return false;
      }
      if (++count > MAX_USER_ID_CODE_POINTS) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return true;
  }
}
