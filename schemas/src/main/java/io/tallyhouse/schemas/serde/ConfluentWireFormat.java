package io.tallyhouse.schemas.serde;

import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro
 * binary body. Anything that reads Confluent-serialised topics can read ours and the other way
 * round.
 */
final class ConfluentWireFormat {

  static final byte MAGIC = 0;
  static final int HEADER_SIZE = 5;

  private ConfluentWireFormat() {}

  /** The schema id of a framed payload, after checking the frame. */
  static int schemaId(byte[] payload) {
    if (payload.length < HEADER_SIZE) {
      throw new SerializationException(
          "payload of " + payload.length + " bytes is shorter than the 5-byte header");
    }
    if (payload[0] != MAGIC) {
      throw new SerializationException(
          "unknown magic byte " + payload[0] + "; expected 0 (Confluent wire format)");
    }
    return ByteBuffer.wrap(payload, 1, 4).getInt();
  }
}
