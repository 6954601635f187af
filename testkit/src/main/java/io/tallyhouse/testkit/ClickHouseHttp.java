package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/** Plain statements over ClickHouse's HTTP interface, for the testkit and its tests. */
final class ClickHouseHttp {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private ClickHouseHttp() {}

  /**
   * Runs {@code sql} with the given settings ({@code name=value&...}, may be empty) and returns the
   * body; throws {@link ClickHouseException} with the server's message when it answers an error.
   */
  static String execute(ClickHouseEndpoint server, String sql, String settings, Duration timeout) {
    String query = settings.isEmpty() ? "" : "?" + settings;
    String credentials = server.user() + ":" + server.password();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(server.httpUrl() + "/" + query))
            .timeout(timeout)
            .header(
                "Authorization",
                "Basic "
                    + Base64.getEncoder()
                        .encodeToString(credentials.getBytes(StandardCharsets.UTF_8)))
            .POST(HttpRequest.BodyPublishers.ofString(sql, StandardCharsets.UTF_8))
            .build();
    try {
      HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new ClickHouseException(response.statusCode(), response.body().strip());
      }
      return response.body();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "ClickHouse at " + server.httpUrl() + " did not answer: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static String setting(String name, String value) {
    return name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** An error ClickHouse answered, with its message. */
  static final class ClickHouseException extends RuntimeException {
    final int status;

    ClickHouseException(int status, String message) {
      super("ClickHouse answered " + status + ": " + message);
      this.status = status;
    }
  }
}
