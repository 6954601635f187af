package io.tallyhouse.testkit;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Registers schemas on the shared registry through its Confluent API, as another team's client
 * would: any schema type and text, including ones the project's own client refuses to write (not
 * Avro, not parseable).
 */
public final class RegistrySubjects {

  private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*(\\d+)");

  private RegistrySubjects() {}

  /**
   * POSTs {@code body} (a Confluent registration request) to {@code subject}'s versions; returns
   * the schema id.
   */
  public static int register(String subject, String body) throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(Infra.registry().url() + "/subjects/" + subject + "/versions"))
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    Matcher id = ID.matcher(response.body());
    if (response.statusCode() != 200 || !id.find()) {
      throw new AssertionError(
          "registering under "
              + subject
              + " answered "
              + response.statusCode()
              + ": "
              + response.body());
    }
    return Integer.parseInt(id.group(1));
  }
}
