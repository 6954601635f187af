package io.tallyhouse.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * A client of the Confluent Schema Registry REST API (also served by Redpanda, Karapace and Apicurio's
 * ccompat API). Confluent's own client is not on Maven Central, and the part we need is small: register
 * a schema under a subject and look a schema up by id. Both answers are immutable in the registry, so
 * both are cached for the life of the client.
 */
public final class SchemaRegistryClient {

  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RegistryConfig config;
  private final HttpClient http;
  private final String authorization;
  private final Map<String, Integer> idsBySubjectAndSchema = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();

  public SchemaRegistryClient(RegistryConfig config) {
    this.config = config;
    this.http = HttpClient.newBuilder().connectTimeout(config.timeout()).build();
    this.authorization = config.username() == null ? null
        : "Basic " + Base64.getEncoder().encodeToString(
            (config.username() + ":" + (config.password() == null ? "" : config.password()))
                .getBytes(StandardCharsets.UTF_8));
  }

  public RegistryConfig config() {
    return config;
  }

  /** Registers {@code schema} under {@code subject} (idempotent in the registry) and returns its id. */
  public int register(String subject, Schema schema) {
    String key = subject + '\u0000' + schema.toString();
    Integer cached = idsBySubjectAndSchema.get(key);
    if (cached != null) {
      return cached;
    }
    String body = JSON.createObjectNode().put("schema", schema.toString()).toString();
    JsonNode answer = send("POST", "/subjects/" + encode(subject) + "/versions", body);
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      throw new SchemaRegistryException(200, -1, "registry answered without an id: " + answer, null);
    }
    idsBySubjectAndSchema.put(key, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  /** The schema with this id; an unknown id fails with error code 40403. */
  public Schema schemaById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode answer = send("GET", "/schemas/ids/" + id, null);
    String type = answer.path("schemaType").asText("AVRO");
    if (!"AVRO".equals(type)) {
      throw new SchemaRegistryException(200, -1, "schema " + id + " is " + type + ", not AVRO", null);
    }
    Schema schema = new Schema.Parser().parse(answer.path("schema").asText());
    schemasById.putIfAbsent(id, schema);
    return schema;
  }

  /** Sets the compatibility level of one subject ({@code BACKWARD}, {@code FULL}, ...). */
  public void setCompatibility(String subject, String level) {
    send("PUT", "/config/" + encode(subject), JSON.createObjectNode().put("compatibility", level).toString());
  }

  /** The compatibility level set on {@code subject} itself, or null when it has none of its own. */
  public String compatibility(String subject) {
    try {
      return send("GET", "/config/" + encode(subject), null).path("compatibilityLevel").asText(null);
    } catch (SchemaRegistryException e) {
      if (e.httpStatus() == 404) {
        return null;
      }
      throw e;
    }
  }

  /**
   * Makes {@code subject} itself carry a level that checks BACKWARD compatibility, so a client reading the subject's
   * config sees the rule that is enforced, whatever the registry's global default (Confluent's is BACKWARD,
   * Apicurio's NONE). A level that already includes BACKWARD (BACKWARD_TRANSITIVE, FULL, FULL_TRANSITIVE) stays.
   */
  public void requireBackwardCompatibility(String subject) {
    String level = compatibility(subject);
    if (level == null || !(level.startsWith("BACKWARD") || level.startsWith("FULL"))) {
      setCompatibility(subject, "BACKWARD");
    }
  }

  private JsonNode send(String method, String path, String body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(config.url() + path))
        .timeout(config.timeout())
        .header("Accept", CONTENT_TYPE + ", application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (body != null) {
      request.header("Content-Type", CONTENT_TYPE);
    }
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new SchemaRegistryException(-1, -1, "schema registry unreachable at " + config.url() + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SchemaRegistryException(-1, -1, "interrupted while calling the schema registry", e);
    }
    JsonNode answer = parse(response.body());
    if (response.statusCode() / 100 != 2) {
      int errorCode = answer.path("error_code").asInt(-1);
      String message = answer.path("message").asText(response.body());
      throw new SchemaRegistryException(response.statusCode(), errorCode,
          "schema registry " + method + " " + path + " failed: HTTP " + response.statusCode()
              + ", error_code " + errorCode + ": " + message, null);
    }
    return answer;
  }

  private static JsonNode parse(String body) {
    try {
      return body == null || body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
    } catch (IOException e) {
      return JSON.createObjectNode();
    }
  }

  private static String encode(String subject) {
    return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
