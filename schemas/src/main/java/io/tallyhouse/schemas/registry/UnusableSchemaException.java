package io.tallyhouse.schemas.registry;

/**
 * The registry holds a schema under the id, but it is not one an Avro reader can use: another
 * schema type (JSON, PROTOBUF) or text that does not parse as Avro. Ids are immutable, so this
 * never changes for the id.
 */
public final class UnusableSchemaException extends RuntimeException {

  public UnusableSchemaException(String message) {
    super(message);
  }
}
