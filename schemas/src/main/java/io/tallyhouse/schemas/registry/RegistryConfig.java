package io.tallyhouse.schemas.registry;

import java.time.Duration;

/**
 * Where the Confluent-compatible schema registry is and how to talk to it.
 *
 * @param url base URL of the Confluent REST API, e.g. {@code http://registry:8081} for Confluent or
 *     {@code http://127.0.0.1:8085/apis/ccompat/v7} for Apicurio
 * @param username basic-auth user, or null for none
 * @param password basic-auth password, or null
 * @param timeout connect and request timeout
 * @param truststore the certificates an https URL is checked against, or null for the JVM's default
 *     certificate authorities
 */
public record RegistryConfig(
    String url, String username, String password, Duration timeout, RegistryTruststore truststore) {

  public RegistryConfig {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("SCHEMA_REGISTRY_URL is required");
    }
    url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    timeout = timeout == null ? Duration.ofSeconds(10) : timeout;
  }

  public RegistryConfig(String url, String username, String password, Duration timeout) {
    this(url, username, password, timeout, null);
  }

  public RegistryConfig(String url) {
    this(url, null, null, null, null);
  }

  /** The password never appears: records print their components. */
  @Override
  public String toString() {
    return "RegistryConfig[url="
        + url
        + ", username="
        + username
        + ", timeout="
        + timeout
        + ", truststore="
        + truststore
        + "]";
  }
}
