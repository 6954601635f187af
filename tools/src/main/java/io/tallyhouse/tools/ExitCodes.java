package io.tallyhouse.tools;

/**
 * The exit codes of every tool, so a scheduled job can tell a finding from a mistake in its own
 * call and from a server it could not reach.
 */
public final class ExitCodes {

  /**
   * The command did what it was asked; reconcile found every account-day-workspace in agreement.
   */
  public static final int OK = 0;

  /** A finding: reconcile found a difference, revoke found no live key to revoke. */
  public static final int FINDING = 1;

  /**
   * A usage error: unknown, repeated or missing option, a bad value or setting. Nothing was
   * changed.
   */
  public static final int USAGE = 2;

  /** What the command needs cannot be reached or read: ClickHouse, the key file. */
  public static final int UNAVAILABLE = 3;

  /** An unexpected error: a bug, reported with its stack trace. */
  public static final int INTERNAL_ERROR = 70;

  private ExitCodes() {}
}
