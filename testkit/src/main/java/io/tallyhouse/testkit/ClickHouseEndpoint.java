package io.tallyhouse.testkit;

/** A running ClickHouse server. */
public interface ClickHouseEndpoint {
  /** The HTTP interface, e.g. {@code http://127.0.0.1:8123}. */
  String httpUrl();

  String user();

  String password();
}
