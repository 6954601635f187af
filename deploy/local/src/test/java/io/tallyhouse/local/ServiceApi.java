package io.tallyhouse.local;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * What the end-to-end tests do to the services from outside, wherever they run: post events to a
 * gateway-ingest, ask an activity-query, and make the keys both take in their key file.
 */
final class ServiceApi {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** How long one request may take: long enough for a starved machine, short of hanging. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  private ServiceApi() {}

  /** Posts {@code body} to the events endpoint of the gateway-ingest at {@code baseUrl}. */
  static HttpResponse<String> postEvents(String baseUrl, String token, String body)
      throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(baseUrl + "/v1/events"))
            .timeout(REQUEST_TIMEOUT)
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The answer of the activity-query at {@code baseUrl} to {@code key} for {@code query}. */
  static HttpResponse<String> activity(String baseUrl, String key, String query)
      throws IOException, InterruptedException {
    return get(baseUrl + "/api/v1/activity" + (query.isEmpty() ? "" : "?" + query), key);
  }

  /**
   * The answer of the activity-query at {@code baseUrl} to {@code key} for the event {@code
   * eventId}, percent-encoded into the path (a slash as %2F).
   */
  static HttpResponse<String> event(String baseUrl, String key, String eventId)
      throws IOException, InterruptedException {
    String segment = URLEncoder.encode(eventId, StandardCharsets.UTF_8).replace("+", "%20");
    return get(baseUrl + "/api/v1/events/" + segment, key);
  }

  /** GET {@code url} with {@code key} as the bearer (none when null). */
  private static HttpResponse<String> get(String url, String key)
      throws IOException, InterruptedException {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT);
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    return HTTP.send(builder.GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A new ingest token for every account, added to {@code keys}. */
  static String newIngestToken(CredentialStore keys) {
    String secret = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    keys.add(secret, CredentialKind.INGEST, null, List.of(), "test");
    return secret;
  }

  /** A new management key of {@code account}, added to {@code keys}. */
  static String newManagementKey(CredentialStore keys, String account) {
    String secret = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    keys.add(secret, CredentialKind.MANAGEMENT, account, List.of(), "test");
    return secret;
  }
}
