package io.tallyhouse.common.clickhouse;

/** ClickHouse refused a statement or could not be reached. */
public final class ClickHouseException extends RuntimeException {

  private final boolean misconfigured;

  public ClickHouseException(String message, Throwable cause) {
    this(message, cause, false);
  }

  public ClickHouseException(String message, Throwable cause, boolean misconfigured) {
    super(message, cause);
    this.misconfigured = misconfigured;
  }

  /**
   * Whether the connection settings are wrong (credentials, TLS trust, a read-only user asked to
   * write): waiting for ClickHouse cannot help, so a service refuses to start instead.
   */
  public boolean misconfigured() {
    return misconfigured;
  }
}
