package io.tallyhouse.query.export;

import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.activity.FilteredRequest;
import io.tallyhouse.query.activity.InvalidParameterException;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The validated query of one {@code GET /api/v1/activity/export} (CONTRACT.md section 4). Built
 * only by {@link #parse}, so everything past it can trust the values.
 *
 * @param from first day read (inclusive)
 * @param to last day read (inclusive)
 * @param groups the groupings, in the fixed column order of {@link Group}
 * @param workspaceId workspace filter as the API shows it, when given
 * @param apiKeyHash lowercase 64-hex filter, when given
 * @param userId exact user filter, when given
 * @param format json (paged) or csv (every row, streamed)
 * @param limit rows per JSON page
 * @param after the group-column values of the last row of the previous page (stored form: '' for no
 *     user and for the default workspace)
 */
public record ExportRequest(
    LocalDate from,
    LocalDate to,
    Set<Group> groups,
    Optional<String> workspaceId,
    Optional<String> apiKeyHash,
    Optional<String> userId,
    Format format,
    int limit,
    Optional<List<String>> after)
    implements FilteredRequest {

  /** A grouping and the usage_daily columns it adds, in the export's column and sort order. */
  public enum Group {
    DATE("date", List.of("date")),
    WORKSPACE("workspace", List.of("workspace_id")),
    USER("user", List.of("user_id")),
    API_KEY("api_key", List.of("api_key_hash")),
    ENDPOINT("endpoint", List.of("endpoint_id", "model", "model_permaslug", "provider_name"));

    private final String parameter;
    private final List<String> columns;

    Group(String parameter, List<String> columns) {
      this.parameter = parameter;
      this.columns = columns;
    }

    public String parameter() {
      return parameter;
    }

    public List<String> columns() {
      return columns;
    }
  }

  public enum Format {
    JSON,
    CSV
  }

  public static final int MAX_RANGE_DAYS = 400;
  public static final int DEFAULT_LIMIT = 100;
  public static final int MAX_LIMIT = 1000;

  /** Date columns cannot hold days before this one; earlier days have no usage. */
  static final LocalDate FIRST_DAY = LocalDate.of(1970, 1, 1);

  private static final Pattern HASH = Pattern.compile("[0-9a-fA-F]{64}");
  private static final Pattern LIMIT = Pattern.compile("[0-9]{1,4}");
  private static final List<String> PARAMETERS =
      List.of(
          "from",
          "to",
          "group_by",
          "workspace_id",
          "user_id",
          "api_key_hash",
          "format",
          "limit",
          "cursor");

  public ExportRequest {
    groups = Set.copyOf(groups.isEmpty() ? EnumSet.noneOf(Group.class) : EnumSet.copyOf(groups));
  }

  /**
   * Validates the parameters of an export made on {@code today} (UTC).
   *
   * @param params every query parameter with all its values, already percent-decoded; unknown names
   *     are ignored
   * @throws InvalidParameterException when a known parameter is invalid or given more than once
   */
  public static ExportRequest parse(Map<String, List<String>> params, LocalDate today) {
    for (String name : PARAMETERS) {
      List<String> values = params.get(name);
      if (values != null && values.size() > 1) {
        throw new InvalidParameterException("Parameter " + name + " must be given at most once");
      }
    }
    LocalDate last = today.minusDays(1);
    LocalDate from = day(params, "from", last);
    LocalDate to = day(params, "to", last);
    if (from.isAfter(to)) {
      throw new InvalidParameterException("Parameter from must not be after to");
    }
    if (ChronoUnit.DAYS.between(from, to) + 1 > MAX_RANGE_DAYS) {
      throw new InvalidParameterException(
          "Parameters from and to must span at most " + MAX_RANGE_DAYS + " days");
    }

    EnumSet<Group> groups = EnumSet.noneOf(Group.class);
    String groupBy = ActivityRequest.single(params, "group_by");
    if (groupBy == null) {
      groups.add(Group.USER);
    } else {
      for (String part : groupBy.split(",", -1)) {
        Group group = null;
        for (Group candidate : Group.values()) {
          if (candidate.parameter.equals(part)) {
            group = candidate;
          }
        }
        if (group == null || !groups.add(group)) {
          throw new InvalidParameterException(
              "Parameter group_by must be a comma-separated list of date, workspace, user, api_key,"
                  + " endpoint (each at most once)");
        }
      }
    }

    String workspace = ActivityRequest.workspaceId(params);
    String hash = ActivityRequest.single(params, "api_key_hash");
    if (hash != null && !HASH.matcher(hash).matches()) {
      throw new InvalidParameterException(
          "Parameter api_key_hash must be 64 hexadecimal characters");
    }
    String user = ActivityRequest.single(params, "user_id");
    if (user != null && !ActivityRequest.validUserId(user)) {
      throw new InvalidParameterException(
          "Parameter user_id must be 1-256 characters without control characters");
    }

    String formatText = ActivityRequest.single(params, "format");
    Format format;
    if (formatText == null || formatText.equals("json")) {
      format = Format.JSON;
    } else if (formatText.equals("csv")) {
      format = Format.CSV;
    } else {
      throw new InvalidParameterException("Parameter format must be json or csv");
    }

    int limit = DEFAULT_LIMIT;
    String limitText = ActivityRequest.single(params, "limit");
    if (limitText != null) {
      if (format == Format.CSV) {
        throw new InvalidParameterException(
            "Parameter limit is only for format=json (csv returns every row)");
      }
      if (!LIMIT.matcher(limitText).matches()
          || Integer.parseInt(limitText) < 1
          || Integer.parseInt(limitText) > MAX_LIMIT) {
        throw new InvalidParameterException(
            "Parameter limit must be an integer from 1 to " + MAX_LIMIT);
      }
      limit = Integer.parseInt(limitText);
    }

    ExportRequest request =
        new ExportRequest(
            from,
            to,
            groups,
            Optional.ofNullable(workspace),
            Optional.ofNullable(hash).map(h -> h.toLowerCase(Locale.ROOT)),
            Optional.ofNullable(user),
            format,
            limit,
            Optional.empty());
    String cursor = ActivityRequest.single(params, "cursor");
    if (cursor != null) {
      if (format == Format.CSV) {
        throw new InvalidParameterException(
            "Parameter cursor is only for format=json (csv returns every row)");
      }
      request = request.after(ExportCursor.decode(cursor, request));
    }
    return request;
  }

  /** This request continuing after the row whose group-column values are {@code values}. */
  public ExportRequest after(List<String> values) {
    return new ExportRequest(
        from,
        to,
        groups,
        workspaceId,
        apiKeyHash,
        userId,
        format,
        limit,
        Optional.of(List.copyOf(values)));
  }

  /** The usage_daily columns the rows are grouped and ordered by, in order. */
  public List<String> groupColumns() {
    List<String> columns = new ArrayList<>();
    for (Group group : Group.values()) {
      if (groups.contains(group)) {
        columns.addAll(group.columns);
      }
    }
    return columns;
  }

  /**
   * What a cursor is bound to: the parameters that decide which rows exist and their order. Format
   * and limit are not part of it, so a walk may change its page size.
   */
  String fingerprint() {
    StringBuilder text =
        new StringBuilder("from=").append(from).append("\nto=").append(to).append("\ngroup_by=");
    for (Group group : Group.values()) {
      if (groups.contains(group)) {
        text.append(group.parameter).append(',');
      }
    }
    text.append("\napi_key_hash=").append(apiKeyHash.orElse("-"));
    text.append("\nuser_id=").append(userId.map(u -> "=" + u).orElse("-"));
    text.append("\nworkspace_id=").append(workspaceId.orElse("-"));
    return text.toString();
  }

  private static LocalDate day(Map<String, List<String>> params, String name, LocalDate last) {
    String text = ActivityRequest.single(params, name);
    if (text == null) {
      throw new InvalidParameterException("Parameter " + name + " is required (YYYY-MM-DD)");
    }
    LocalDate day = ActivityRequest.parseDate(text);
    if (day == null) {
      throw new InvalidParameterException("Parameter " + name + " must be a date YYYY-MM-DD");
    }
    if (day.isAfter(last)) {
      throw new InvalidParameterException(
          "Parameter " + name + " must be a completed UTC day (yesterday or earlier)");
    }
    if (day.isBefore(FIRST_DAY)) {
      throw new InvalidParameterException("Parameter " + name + " must be 1970-01-01 or later");
    }
    return day;
  }
}
