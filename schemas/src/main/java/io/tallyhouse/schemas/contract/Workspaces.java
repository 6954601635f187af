package io.tallyhouse.schemas.contract;

/**
 * The workspace of an event (CONTRACT.md section 1) as the API shows it and as usage_daily stores
 * it. An event that names no workspace belongs to {@value #DEFAULT}. usage_daily keeps that
 * workspace as '' (migration 006: ClickHouse can add a sorting-key column to a table that holds
 * data only without a default, so rows written before workspaces existed read ''); every writer and
 * reader of usage_daily translates through this class, and nothing else spells out either value.
 */
public final class Workspaces {

  /** The workspace of an event that names none. */
  public static final String DEFAULT = "default";

  /** How usage_daily stores {@link #DEFAULT}. */
  public static final String STORED_DEFAULT = "";

  private Workspaces() {}

  /** The usage_daily value of {@code workspaceId} (a valid workspace id). */
  public static String stored(String workspaceId) {
    return DEFAULT.equals(workspaceId) ? STORED_DEFAULT : workspaceId;
  }

  /** The workspace id of a usage_daily value. */
  public static String shown(String stored) {
    return STORED_DEFAULT.equals(stored) ? DEFAULT : stored;
  }
}
