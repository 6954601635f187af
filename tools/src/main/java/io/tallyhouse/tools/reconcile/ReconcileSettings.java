package io.tallyhouse.tools.reconcile;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;

/**
 * What reconcile reads from its environment: the ClickHouse that usage-stream writes to, and how
 * many days of usage_events usage-stream keeps (older days have no raw rows to compare).
 */
public record ReconcileSettings(ClickHouseConfig clickHouse, int rawRetentionDays) {

  public static ReconcileSettings read(Settings settings) {
    return new ReconcileSettings(
        PipelineSettings.clickHouse(settings), PipelineSettings.rawRetentionDays(settings));
  }
}
