package io.tallyhouse.testkit;

/** A running Confluent-compatible schema registry. */
public interface RegistryEndpoint {
  /** Base URL of the Confluent REST API (for Apicurio, its {@code /apis/ccompat/v7} path). */
  String url();
}
