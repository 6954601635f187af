package io.tallyhouse.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.KafkaClientSettings.Fixed;
import io.tallyhouse.common.config.KafkaClientSettings.Role;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KafkaClientSettingsTest {

  private static final Fixed FIXED =
      Fixed.of("svc", Role.values())
          .with(Role.PRODUCER, "the 202 promise", Set.of("acks"))
          .with(Role.CONSUMER, "only committed transactions", Set.of("isolation.level"))
          .with(Role.STREAMS, "exactly once", Set.of("processing.guarantee"));

  private static KafkaClientSettings read(Map<String, String> env) {
    Settings s = Settings.of(env);
    return s.validate(KafkaClientSettings.read(s, "broker:9092", FIXED));
  }

  @Test
  void variableNamesBecomeLowerCaseDottedProperties() {
    KafkaClientSettings kafka =
        read(
            Map.of(
                "KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL",
                "KAFKA_CLIENT_SASL_JAAS_CONFIG", "jaas",
                "KAFKA_ADMIN_DEFAULT_API_TIMEOUT_MS", "9000"));
    assertEquals(
        Map.of("security.protocol", "SASL_SSL", "sasl.jaas.config", "jaas"), kafka.client());
    assertEquals(
        Map.of(
            "bootstrap.servers", "broker:9092",
            "security.protocol", "SASL_SSL",
            "sasl.jaas.config", "jaas",
            "default.api.timeout.ms", "9000",
            "client.id", "mine"),
        kafka.admin(Map.of("client.id", "mine")));
  }

  @Test
  void aRolesPropertyWinsOverTheClientsAndTheServicesDefaults() {
    KafkaClientSettings kafka =
        read(
            Map.of(
                "KAFKA_CLIENT_SSL_TRUSTSTORE_LOCATION", "/all.p12",
                "KAFKA_PRODUCER_SSL_TRUSTSTORE_LOCATION", "/producer.p12",
                "KAFKA_PRODUCER_LINGER_MS", "20"));
    Map<String, Object> producer = kafka.producer(Map.of("linger.ms", 5, "acks", "all"));
    assertEquals("/producer.p12", producer.get("ssl.truststore.location"));
    assertEquals("20", producer.get("linger.ms"));
    assertEquals("all", producer.get("acks"));
    assertEquals("/all.p12", kafka.consumer(Map.of()).get("ssl.truststore.location"));
    assertEquals(
        "ssl.truststore.location (every client); linger.ms, ssl.truststore.location (producer)",
        kafka.describeKeys());
    assertEquals("none", read(Map.of()).describeKeys());
  }

  @Test
  void streamsGetsClientPropertiesPlainAndRolePropertiesUnderStreamsPrefixes() {
    KafkaClientSettings kafka =
        read(
            Map.of(
                "KAFKA_CLIENT_SECURITY_PROTOCOL", "SSL",
                "KAFKA_STREAMS_NUM_STANDBY_REPLICAS", "1",
                "KAFKA_PRODUCER_LINGER_MS", "20",
                "KAFKA_CONSUMER_FETCH_MAX_WAIT_MS", "100",
                "KAFKA_ADMIN_RETRIES", "3"));
    Properties service = new Properties();
    service.put("application.id", "usage-stream");
    Properties streams = kafka.streams(service);
    assertEquals("usage-stream", streams.get("application.id"));
    assertEquals("broker:9092", streams.get("bootstrap.servers"));
    assertEquals("SSL", streams.get("security.protocol"));
    assertEquals("1", streams.get("num.standby.replicas"));
    assertEquals("20", streams.get("producer.linger.ms"));
    assertEquals("100", streams.get("consumer.fetch.max.wait.ms"));
    assertEquals("3", streams.get("admin.retries"));
  }

  @Test
  void everyFixedPropertySetIsAProblemNamingTheVariableAndWhy() {
    Settings s =
        Settings.of(
            Map.of(
                "KAFKA_PRODUCER_ACKS", "1",
                "KAFKA_CLIENT_ISOLATION_LEVEL", "read_uncommitted",
                "KAFKA_STREAMS_PROCESSING_GUARANTEE", "at_least_once",
                "KAFKA_ADMIN_BOOTSTRAP_SERVERS", "elsewhere:9092",
                "KAFKA_CONSUMER_VALUE_DESERIALIZER", "x",
                "KAFKA_CONSUMER_ACKS", "1"));
    KafkaClientSettings.read(s, "broker:9092", FIXED);
    ConfigException e = assertThrows(ConfigException.class, () -> s.validate(null));
    assertEquals(
        Set.of(
            "KAFKA_PRODUCER_ACKS=1: cannot be set: svc fixes acks of its producer"
                + " (the 202 promise)",
            "KAFKA_CLIENT_ISOLATION_LEVEL=read_uncommitted: cannot be set: svc fixes"
                + " isolation.level of its consumer (only committed transactions)",
            "KAFKA_STREAMS_PROCESSING_GUARANTEE=at_least_once: cannot be set: svc fixes"
                + " processing.guarantee of its streams (exactly once)",
            "KAFKA_ADMIN_BOOTSTRAP_SERVERS=elsewhere:9092: cannot be set: svc fixes"
                + " bootstrap.servers of its admin (set KAFKA_BOOTSTRAP_SERVERS)",
            "KAFKA_CONSUMER_VALUE_DESERIALIZER=x: cannot be set: svc fixes"
                + " value.deserializer of its consumer (the service's record format depends on it)"),
        new HashSet<>(s.problems()));
    assertEquals(5, s.problems().size());
  }

  @Test
  void onlyTheRolesAServiceUsesAreRead() {
    Settings s = Settings.of(Map.of("KAFKA_CONSUMER_ISOLATION_LEVEL", "read_uncommitted"));
    KafkaClientSettings kafka =
        KafkaClientSettings.read(
            s,
            "broker:9092",
            Fixed.of("ingest", Role.PRODUCER).with(Role.CONSUMER, "x", Set.of("isolation.level")));
    assertEquals(List.of(), s.problems());
    assertEquals(
        List.of("KAFKA_CLIENT_*", "KAFKA_PRODUCER_*"),
        s.described().stream().map(Settings.Setting::name).toList());
    assertEquals(Map.of(), kafka.roles().get(Role.CONSUMER));
  }

  @Test
  void everyPrefixIsDescribedForTheReference() {
    Settings s = Settings.of(Map.of());
    KafkaClientSettings.read(s, "broker:9092", FIXED);
    List<String> names = s.described().stream().map(Settings.Setting::name).toList();
    assertEquals(
        List.of(
            "KAFKA_CLIENT_*",
            "KAFKA_PRODUCER_*",
            "KAFKA_CONSUMER_*",
            "KAFKA_ADMIN_*",
            "KAFKA_STREAMS_*"),
        names);
    assertTrue(s.problems().isEmpty());
    assertFalse(names.contains("KAFKA_CLIENT_SASL_JAAS_CONFIG"));
  }
}
