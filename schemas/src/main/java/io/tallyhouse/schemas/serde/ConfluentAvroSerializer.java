package io.tallyhouse.schemas.serde;

import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.registry.SchemaRegistryException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes Avro records in the Confluent wire format, registering the record's schema under the
 * subject {@code <topic>-value} (or {@code <topic>-key}) the first time a topic is written. The
 * records are specific ones (gateway-ingest's UsageEvent) or generic ones of any schema (a producer
 * still writing an earlier version of a schema); logical types map as the specific class of the
 * schema's name maps them (decimal to BigDecimal, timestamp-micros to Instant).
 */
public final class ConfluentAvroSerializer<T extends IndexedRecord> implements Serializer<T> {

  private final SchemaRegistryClient registry;
  private final boolean isKey;
  private final Map<Schema, SpecificDatumWriter<T>> writers = new ConcurrentHashMap<>();

  /**
   * The id last used per topic, for the very schema object: generated classes share one, so this
   * always hits.
   */
  private final Map<String, SchemaId> lastIdByTopic = new ConcurrentHashMap<>();

  private record SchemaId(Schema schema, int id) {}

  public ConfluentAvroSerializer(SchemaRegistryClient registry, boolean isKey) {
    this.registry = registry;
    this.isKey = isKey;
  }

  @Override
  public byte[] serialize(String topic, T record) {
    if (record == null) {
      return null;
    }
    Schema schema = record.getSchema();
    // The registry client caches by subject and schema text, but rendering the text costs more than
    // encoding the
    // event; an identity check on the schema object skips it.
    SchemaId cached = lastIdByTopic.get(topic);
    int id;
    if (cached != null && cached.schema() == schema) {
      id = cached.id();
    } else {
      try {
        id = registry.register(topic + (isKey ? "-key" : "-value"), schema);
      } catch (SchemaRegistryException e) {
        throw new SerializationException(
            "cannot register the schema of " + schema.getFullName() + ": " + e.getMessage(), e);
      }
      lastIdByTopic.put(topic, new SchemaId(schema, id));
    }
    SpecificDatumWriter<T> writer =
        writers.computeIfAbsent(
            schema, s -> new SpecificDatumWriter<>(s, SpecificData.getForSchema(s)));
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.write(ConfluentWireFormat.MAGIC);
    out.write(id >>> 24);
    out.write(id >>> 16);
    out.write(id >>> 8);
    out.write(id);
    try {
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
      writer.write(record, encoder);
      encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "cannot write " + schema.getFullName() + " as Avro: " + e.getMessage(), e);
    }
    return out.toByteArray();
  }
}
