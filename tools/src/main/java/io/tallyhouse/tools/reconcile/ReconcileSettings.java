package io.tallyhouse.tools.reconcile;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;

/**
 * What reconcile reads from its environment: the ClickHouse that usage-stream writes to, and how many days of
 * usage_events usage-stream keeps (older days have no raw rows to compare).
 */
public record ReconcileSettings(ClickHouseConfig clickHouse, int rawRetentionDays) {

  /** usage-stream's default for RAW_RETENTION_DAYS: both must read the variable alike. */
  static final int DEFAULT_RAW_RETENTION_DAYS = 400;

  public static ReconcileSettings read(Settings settings) {
    // Read first: a ClickHouseConfig that refuses its values throws, and this problem is to be listed with its own.
    int rawRetentionDays = settings.number("RAW_RETENTION_DAYS",
        "days of usage_events usage-stream keeps; reconcile's default range").intOrElse(DEFAULT_RAW_RETENTION_DAYS);
    return new ReconcileSettings(PipelineSettings.clickHouse(settings), rawRetentionDays);
  }
}
