package io.tallyhouse.query.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.activity.InvalidParameterException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The export's opaque keyset cursor: base64url of {@code {"v":1,"k":[last row's group
 * values],"c":check}}, where {@code check} is a digest of the request's {@link
 * ExportRequest#fingerprint() parameters} and the values. A cursor used with other parameters, or
 * edited, fails the check; anything that does not decode is refused the same way, always as a 400
 * naming {@code cursor}.
 *
 * <p>The values are the stored ones ({@code ''} for "no user"), so the next page continues strictly
 * after that row in the SQL order, whatever rows were added or updated since: keyset, not offset.
 */
public final class ExportCursor {

  static final int VERSION = 1;
  static final int MAX_LENGTH = 16_384;
  public static final String MESSAGE = "Parameter cursor is invalid or belongs to other parameters";

  private static final ObjectMapper JSON = new ObjectMapper();

  private ExportCursor() {}

  public static String encode(List<String> values, ExportRequest request) {
    ObjectNode root = JSON.createObjectNode();
    root.put("v", VERSION);
    ArrayNode keys = root.putArray("k");
    values.forEach(keys::add);
    root.put("c", check(request, keys));
    try {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(JSON.writeValueAsBytes(root));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cursor cannot be written", e);
    }
  }

  /**
   * The group-column values {@code text} continues after.
   *
   * @throws InvalidParameterException for anything but a cursor this service made for these
   *     parameters
   */
  static List<String> decode(String text, ExportRequest request) {
    if (text.isEmpty() || text.length() > MAX_LENGTH) {
      throw invalid();
    }
    JsonNode root;
    try {
      root = JSON.readTree(Base64.getUrlDecoder().decode(text));
    } catch (Exception e) {
      // IllegalArgumentException (not base64url) or IOException (not JSON).
      throw invalid();
    }
    if (root == null
        || !root.isObject()
        || root.size() != 3
        || !root.path("v").isInt()
        || root.get("v").intValue() != VERSION
        || !root.path("k").isArray()
        || !root.path("c").isTextual()) {
      throw invalid();
    }
    ArrayNode keys = (ArrayNode) root.get("k");
    List<String> columns = request.groupColumns();
    if (keys.size() != columns.size()) {
      throw invalid();
    }
    if (!MessageDigest.isEqual(
        check(request, keys).getBytes(StandardCharsets.US_ASCII),
        root.get("c").textValue().getBytes(StandardCharsets.UTF_8))) {
      throw invalid();
    }
    List<String> values = new ArrayList<>();
    for (int i = 0; i < columns.size(); i++) {
      JsonNode key = keys.get(i);
      if (!key.isTextual()) {
        throw invalid();
      }
      String value = key.textValue();
      boolean valid =
          switch (columns.get(i)) {
            case "date" ->
                ActivityRequest.parseDate(value) != null
                    && !ActivityRequest.parseDate(value).isBefore(ExportRequest.FIRST_DAY);
            // Stored strings may hold anything (a user id with a newline); the check already
            // vouches for them.
            default -> true;
          };
      if (!valid) {
        throw invalid();
      }
      values.add(value);
    }
    return values;
  }

  private static String check(ExportRequest request, ArrayNode keys) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(("tallyhouse-export-cursor-v" + VERSION + "\n").getBytes(StandardCharsets.UTF_8));
      sha.update(request.fingerprint().getBytes(StandardCharsets.UTF_8));
      sha.update((byte) '\n');
      sha.update(JSON.writeValueAsBytes(keys));
      byte[] digest = sha.digest();
      return Base64.getUrlEncoder().withoutPadding().encodeToString(digest).substring(0, 22);
    } catch (NoSuchAlgorithmException | JsonProcessingException e) {
      throw new IllegalStateException("cursor check cannot be computed", e);
    }
  }

  private static InvalidParameterException invalid() {
    return new InvalidParameterException(MESSAGE);
  }
}
