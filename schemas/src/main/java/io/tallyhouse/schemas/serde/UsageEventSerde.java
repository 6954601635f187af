package io.tallyhouse.schemas.serde;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/** Serializer, deserializer and Kafka Streams serde for {@link UsageEvent} values. */
public final class UsageEventSerde {

  private UsageEventSerde() {}

  public static Serde<UsageEvent> create(SchemaRegistryClient registry) {
    return Serdes.serdeFrom(serializer(registry), deserializer(registry));
  }

  public static ConfluentAvroSerializer<UsageEvent> serializer(SchemaRegistryClient registry) {
    return new ConfluentAvroSerializer<>(registry, false);
  }

  public static ConfluentAvroDeserializer<UsageEvent> deserializer(SchemaRegistryClient registry) {
    return new ConfluentAvroDeserializer<>(registry, UsageEvent.class);
  }
}
