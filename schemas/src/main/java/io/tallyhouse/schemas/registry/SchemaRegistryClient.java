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
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;
import org.apache.avro.Schema;

/**
 * A client of the Confluent Schema Registry REST API (also served by Redpanda, Karapace and
 * Apicurio's ccompat API). Confluent's own client is not on Maven Central, and the part we need is
 * small: register a schema under a subject and look a schema up by id. Both answers are immutable
 * in the registry, so both are cached for the life of the client, and so is the verdict on a schema
 * that is not usable Avro.
 *
 * <p>A failure is either the registry's answer about the schema (an unknown id, error_code 40403; a
 * schema that is not Avro, an incompatible or invalid schema) or trouble reaching the registry's
 * API: unreachable, a timeout, 5xx, 401/403, or a 404 without a Confluent "not found" code (a wrong
 * path). The last trouble stays in {@link #trouble()} until the registry answers again.
 */
public final class SchemaRegistryClient {

  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RegistryConfig config;
  private final HttpClient http;
  private final String authorization;
  private final Map<String, Integer> idsBySubjectAndSchema = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<Integer, String> unusableById = new ConcurrentHashMap<>();
  private volatile String trouble;

  public SchemaRegistryClient(RegistryConfig config) {
    this.config = config;
    // HTTP/1.1 as the Confluent API is specified: over https the JDK would otherwise negotiate
    // HTTP/2, and a server's GOAWAY on a pooled HTTP/2 connection (seen with Apicurio) fails the
    // request in flight.
    HttpClient.Builder builder =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(config.timeout());
    if (config.truststore() != null) {
      builder.sslContext(config.truststore().sslContext());
    }
    this.http = builder.build();
    this.authorization =
        config.username() == null
            ? null
            : "Basic "
                + Base64.getEncoder()
                    .encodeToString(
                        (config.username()
                                + ":"
                                + (config.password() == null ? "" : config.password()))
                            .getBytes(StandardCharsets.UTF_8));
  }

  public RegistryConfig config() {
    return config;
  }

  /**
   * Registers {@code schema} under {@code subject} (idempotent in the registry) and returns its id.
   *
   * <p>A 409 is looked into before it is believed: Apicurio answers 409 "already exists" to the
   * loser of two instances registering the same new subject at the same moment, where Confluent
   * would answer the winner's id. If the subject now holds the schema, its id is the answer; if
   * not, the 409 stands (an incompatible schema).
   */
  public int register(String subject, Schema schema) {
    String key = subject + '\u0000' + schema.toString();
    Integer cached = idsBySubjectAndSchema.get(key);
    if (cached != null) {
      return cached;
    }
    String body = JSON.createObjectNode().put("schema", schema.toString()).toString();
    JsonNode answer;
    try {
      answer = send("POST", "/subjects/" + encode(subject) + "/versions", body);
    } catch (SchemaRegistryException e) {
      if (e.httpStatus() != 409) {
        throw e;
      }
      answer = registeredUnder(subject, body).orElseThrow(() -> e);
    }
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      throw new SchemaRegistryException(
          200, -1, "registry answered without an id: " + answer, null);
    }
    idsBySubjectAndSchema.put(key, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  /** The subject's registration of this schema ({@code POST /subjects/{subject}}), if any. */
  private Optional<JsonNode> registeredUnder(String subject, String body) {
    try {
      return Optional.of(send("POST", "/subjects/" + encode(subject), body));
    } catch (SchemaRegistryException e) {
      if (e.httpStatus() == 404 && e.errorCode() / 10 == 4040) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /**
   * The schema with this id. An unknown id fails with a {@link SchemaRegistryException} whose
   * {@link SchemaRegistryException#schemaNotFound()} is true, a schema that is not Avro or does not
   * parse with an {@link UnusableSchemaException}; any other {@link SchemaRegistryException} is
   * trouble reaching the registry.
   */
  public Schema schemaById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    String unusable = unusableById.get(id);
    if (unusable != null) {
      throw new UnusableSchemaException(unusable);
    }
    String path = "/schemas/ids/" + id;
    JsonNode answer = send("GET", path, null);
    JsonNode text = answer.path("schema");
    if (!text.isTextual()) {
      throw troubled(
          new SchemaRegistryException(
              200,
              -1,
              "schema registry at "
                  + config.url()
                  + " answered GET "
                  + path
                  + " without a schema (is the URL the registry's Confluent API?): "
                  + abbreviate(answer.toString()),
              null));
    }
    String type = answer.path("schemaType").asText("AVRO");
    if (!"AVRO".equals(type)) {
      throw unusable(id, "schema " + id + " is " + type + ", not AVRO");
    }
    Schema schema;
    try {
      schema = new Schema.Parser().parse(text.asText());
    } catch (RuntimeException e) {
      throw unusable(id, "schema " + id + " does not parse as Avro: " + e.getMessage());
    }
    schemasById.putIfAbsent(id, schema);
    return schema;
  }

  /** What went wrong the last time the registry could not be used, if it has not answered since. */
  public Optional<String> trouble() {
    return Optional.ofNullable(trouble);
  }

  private UnusableSchemaException unusable(int id, String reason) {
    unusableById.putIfAbsent(id, reason);
    return new UnusableSchemaException(unusableById.get(id));
  }

  private SchemaRegistryException troubled(SchemaRegistryException e) {
    trouble = e.getMessage();
    return e;
  }

  /**
   * Whether the registry would accept {@code schema} as the next version of {@code subject} under
   * the subject's compatibility level (true for a subject without versions). An unknown subject
   * fails with error_code 40401 on registries that do not treat it as compatible.
   */
  public boolean isCompatibleWithLatest(String subject, Schema schema) {
    String body = JSON.createObjectNode().put("schema", schema.toString()).toString();
    JsonNode answer =
        send("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest", body);
    JsonNode verdict = answer.path("is_compatible");
    if (!verdict.isBoolean()) {
      throw troubled(
          new SchemaRegistryException(
              200,
              -1,
              "schema registry at "
                  + config.url()
                  + " answered a compatibility check without is_compatible: "
                  + abbreviate(answer.toString()),
              null));
    }
    return verdict.asBoolean();
  }

  /** Sets the compatibility level of one subject ({@code BACKWARD}, {@code FULL}, ...). */
  public void setCompatibility(String subject, String level) {
    send(
        "PUT",
        "/config/" + encode(subject),
        JSON.createObjectNode().put("compatibility", level).toString());
  }

  /** The compatibility level set on {@code subject} itself, or null when it has none of its own. */
  public String compatibility(String subject) {
    try {
      return send("GET", "/config/" + encode(subject), null)
          .path("compatibilityLevel")
          .asText(null);
    } catch (SchemaRegistryException e) {
      if (e.httpStatus() == 404) {
        return null;
      }
      throw e;
    }
  }

  /**
   * Makes {@code subject} itself carry a level that checks BACKWARD compatibility, so a client
   * reading the subject's config sees the rule that is enforced, whatever the registry's global
   * default (Confluent's is BACKWARD, Apicurio's NONE). A level that already includes BACKWARD
   * (BACKWARD_TRANSITIVE, FULL, FULL_TRANSITIVE) stays. A weaker level (NONE, FORWARD) is raised,
   * since events evolve by adding defaulted fields only. A registry user that may not change the
   * config is fine when the subject has no level of its own and the global one checks BACKWARD;
   * otherwise it fails with the request an administrator runs instead.
   *
   * <p>Instances starting together race to set the level: Apicurio answers the loser 409 "A rule
   * named 'COMPATIBILITY' already exists", so a 409 is followed by reading the level again.
   */
  public void requireBackwardCompatibility(String subject) {
    String level = compatibility(subject);
    if (checksBackward(level)) {
      return;
    }
    try {
      try {
        setCompatibility(subject, "BACKWARD");
      } catch (SchemaRegistryException lostRace) {
        if (lostRace.httpStatus() != 409) {
          throw lostRace;
        }
        level = compatibility(subject);
        if (checksBackward(level)) {
          return;
        }
        // Another client set a weaker level meanwhile; the rule exists now, so this updates it.
        setCompatibility(subject, "BACKWARD");
      }
    } catch (SchemaRegistryException e) {
      if (e.httpStatus() != 401 && e.httpStatus() != 403) {
        throw e;
      }
      if (level == null && checksBackward(globalCompatibility())) {
        return;
      }
      throw new SchemaRegistryException(
          e.httpStatus(),
          e.errorCode(),
          "subject "
              + subject
              + " has compatibility "
              + (level == null ? "of the registry's default" : level)
              + " and the registry refused to set BACKWARD on it; have an administrator run"
              + " PUT "
              + config.url()
              + "/config/"
              + encode(subject)
              + " {\"compatibility\":\"BACKWARD\"} ("
              + e.getMessage()
              + ")",
          e);
    }
  }

  /** The registry's default compatibility level, for subjects without one of their own. */
  public String globalCompatibility() {
    return send("GET", "/config", null).path("compatibilityLevel").asText(null);
  }

  private static boolean checksBackward(String level) {
    return level != null && (level.startsWith("BACKWARD") || level.startsWith("FULL"));
  }

  private JsonNode send(String method, String path, String body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(config.url() + path))
            .timeout(config.timeout())
            .header("Accept", CONTENT_TYPE + ", application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (body != null) {
      request.header("Content-Type", CONTENT_TYPE);
    }
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    HttpResponse<String> response;
    try {
      response =
          http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (SSLException e) {
      throw troubled(
          new SchemaRegistryException(
              -1,
              -1,
              "TLS with the schema registry at SCHEMA_REGISTRY_URL="
                  + config.url()
                  + " failed; its certificate must be signed by a CA in"
                  + " SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION (or the JVM's default CAs when unset)"
                  + " and name the URL's host: "
                  + e,
              e));
    } catch (IOException e) {
      throw troubled(
          new SchemaRegistryException(
              -1, -1, "schema registry unreachable at " + config.url() + ": " + e, e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw troubled(
          new SchemaRegistryException(
              -1, -1, "interrupted while calling the schema registry at " + config.url(), e));
    }
    JsonNode answer = parse(response.body());
    int status = response.statusCode();
    if (status / 100 != 2) {
      int errorCode = answer.path("error_code").asInt(-1);
      String message = answer.path("message").asText(abbreviate(response.body()));
      SchemaRegistryException e =
          new SchemaRegistryException(
              status,
              errorCode,
              "schema registry "
                  + method
                  + " "
                  + config.url()
                  + path
                  + " failed: HTTP "
                  + status
                  + ", error_code "
                  + errorCode
                  + ": "
                  + message
                  + credentialsHint(status),
              null);
      // The registry's answers about the request itself: an unknown subject, version or id
      // (40401-40403), an
      // incompatible (409) or invalid (422) schema. A 404 without such a code is a wrong path, not
      // an answer.
      boolean answered = status == 409 || status == 422 || status == 404 && errorCode / 10 == 4040;
      throw answered ? e : troubled(e);
    }
    trouble = null;
    return answer;
  }

  private String credentialsHint(int status) {
    if (status == 401) {
      return config.username() == null
          ? " (the registry wants credentials: set SCHEMA_REGISTRY_USER and SCHEMA_REGISTRY_PASSWORD)"
          : " (the registry refused SCHEMA_REGISTRY_USER="
              + config.username()
              + " with the SCHEMA_REGISTRY_PASSWORD given)";
    }
    if (status == 403) {
      return " (SCHEMA_REGISTRY_USER=" + config.username() + " may not do this)";
    }
    return "";
  }

  private static String abbreviate(String text) {
    return text.length() <= 200 ? text : text.substring(0, 200) + "...";
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
