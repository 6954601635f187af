package io.tallyhouse.schemas.registry;

/**
 * The registry refused a request. {@link #errorCode()} is the registry's own {@code error_code}
 * (40401 unknown subject, 40403 unknown schema id, 409 incompatible, 42201 invalid schema, ...), or
 * -1 when it could not be reached or answered without one.
 */
public final class SchemaRegistryException extends RuntimeException {

  private final int httpStatus;
  private final int errorCode;

  public SchemaRegistryException(int httpStatus, int errorCode, String message, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public int errorCode() {
    return errorCode;
  }

  /**
   * The registry's answer that it has no schema with the id asked for (HTTP 404, error_code 40403).
   */
  public boolean schemaNotFound() {
    return httpStatus == 404 && errorCode == 40403;
  }
}
