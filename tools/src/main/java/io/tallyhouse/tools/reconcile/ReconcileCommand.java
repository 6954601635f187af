package io.tallyhouse.tools.reconcile;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.tools.Unavailable;
import java.io.PrintStream;
import java.time.Clock;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code tallyhouse reconcile}: {@link Reconcile} over a range of days, on the ClickHouse of the
 * environment.
 */
@Command(
    name = "reconcile",
    header = "Compares the rollups with the distinct events, per account, UTC day and workspace.",
    description = {
      "Sums usage_events (one row per distinct event: requests, tokens, cost, BYOK cost and requests) and"
          + " usage_daily (the rollups) per account, UTC day and workspace, prints every account-day-workspace"
          + " that differs (DIFF) or"
          + " whose money no legal events can sum to (IMPOSSIBLE), and a last line with the count.",
      "",
      "ClickHouse comes from CLICKHOUSE_URL (default http://127.0.0.1:8123, the local stack of make run),"
          + " CLICKHOUSE_USER, CLICKHOUSE_PASSWORD and CLICKHOUSE_DATABASE (default tallyhouse). RAW_RETENTION_DAYS"
          + " (default 400, read as usage-stream reads it) sets the default"
          + " range: older days have no raw rows.",
      "",
      "While events flow, the two tables can differ for a moment: a scheduled check compares days up to yesterday"
          + " and treats a difference still there on its next run as real.",
      ""
    },
    exitCodeList = {
      "0:every account-day-workspace agrees",
      "1:an account-day-workspace differs or is IMPOSSIBLE (printed on stdout)",
      "2:bad argument or setting",
      "3:ClickHouse cannot be queried"
    })
public final class ReconcileCommand implements Callable<Integer> {

  @Option(
      names = "--from",
      paramLabel = "YYYY-MM-DD",
      converter = Day.class,
      description = "the first day compared (default: the first day RAW_RETENTION_DAYS keeps)")
  LocalDate from;

  @Option(
      names = "--to",
      paramLabel = "YYYY-MM-DD",
      converter = Day.class,
      description = "the last day compared (default: today, UTC)")
  LocalDate to;

  @Spec CommandSpec spec;

  private final Map<String, String> env;
  private final Clock clock;
  private final PrintStream out;

  /**
   * Reads its settings from {@code env}, today from {@code clock}, and prints its report to {@code
   * out}.
   */
  public ReconcileCommand(Map<String, String> env, Clock clock, PrintStream out) {
    this.env = Map.copyOf(env);
    this.clock = clock;
    this.out = out;
  }

  @Override
  public Integer call() {
    ReconcileSettings settings;
    DayRange range;
    try {
      settings = ServiceMain.read(env, ReconcileSettings::read);
      range = DayRange.of(from, to, LocalDate.now(clock), settings.rawRetentionDays());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    ClickHouseConfig clickHouse = settings.clickHouse();
    try (ClickHouse client = new ClickHouse(clickHouse)) {
      return Reconcile.run(client, range.from(), range.to(), out);
    } catch (RuntimeException e) {
      // Not 1: a job that alerts on differences must tell them from a ClickHouse it could not ask.
      throw new Unavailable(
          "ClickHouse could not be queried at "
              + clickHouse.url()
              + " (database "
              + clickHouse.database()
              + "): "
              + e.getMessage()
              + rootCause(e)
              + "; check CLICKHOUSE_URL and that the server runs");
    }
  }

  /**
   * The first cause, where the reason is (connection refused, unknown host), when it says more than
   * the top.
   */
  private static String rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == e ? "" : " (" + root + ")";
  }

  /** A day as YYYY-MM-DD, refused with an example of one. */
  static final class Day implements ITypeConverter<LocalDate> {
    @Override
    public LocalDate convert(String value) {
      try {
        return LocalDate.parse(value);
      } catch (DateTimeParseException e) {
        throw new TypeConversionException(
            "'" + value + "' is not a date: give one like 2026-11-01 (YYYY-MM-DD)");
      }
    }
  }
}
