package io.tallyhouse.common.clickhouse;

/** ClickHouse refused a statement or could not be reached. */
public final class ClickHouseException extends RuntimeException {

  public ClickHouseException(String message, Throwable cause) {
    super(message, cause);
  }
}
