package io.tallyhouse.schemas.serde;

import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.registry.SchemaRegistryException;
import io.tallyhouse.schemas.registry.UnusableSchemaException;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads Confluent-framed Avro into a specific record class, resolving the writer's schema (looked
 * up by the id in the frame) against the reader's, so records written with an older compatible
 * schema still read.
 *
 * <p>A {@link SerializationException} means the payload can never be read: bad framing, an id the
 * registry says it does not know (error_code 40403), a schema that is not usable Avro, a body that
 * does not match its schema. A {@link SchemaRegistryException} means the registry could not be used
 * (unreachable, 5xx, a wrong URL, ...): the same payload may read later, so it is never a reason to
 * give up on the record.
 */
public final class ConfluentAvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {

  private final SchemaRegistryClient registry;
  private final Schema readerSchema;
  private final SpecificData model;
  private final Map<Integer, SpecificDatumReader<T>> readers = new ConcurrentHashMap<>();

  public ConfluentAvroDeserializer(SchemaRegistryClient registry, Class<T> type) {
    this.registry = registry;
    this.model = SpecificData.getForClass(type);
    this.readerSchema = model.getSchema(type);
  }

  @Override
  public T deserialize(String topic, byte[] payload) {
    if (payload == null) {
      return null;
    }
    int id = ConfluentWireFormat.schemaId(payload);
    SpecificDatumReader<T> reader;
    try {
      reader =
          readers.computeIfAbsent(
              id, i -> new SpecificDatumReader<>(registry.schemaById(i), readerSchema, model));
    } catch (SchemaRegistryException e) {
      if (!e.schemaNotFound()) {
        throw e;
      }
      throw new SerializationException(
          "cannot resolve schema id "
              + id
              + " (error_code "
              + e.errorCode()
              + "): "
              + e.getMessage(),
          e);
    } catch (UnusableSchemaException e) {
      throw new SerializationException("cannot use schema id " + id + ": " + e.getMessage(), e);
    }
    try {
      BinaryDecoder decoder =
          DecoderFactory.get()
              .binaryDecoder(
                  payload,
                  ConfluentWireFormat.HEADER_SIZE,
                  payload.length - ConfluentWireFormat.HEADER_SIZE,
                  null);
      return reader.read(null, decoder);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "cannot read Avro body with schema id " + id + ": " + e.getMessage(), e);
    }
  }
}
