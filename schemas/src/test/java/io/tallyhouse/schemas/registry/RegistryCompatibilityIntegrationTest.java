package io.tallyhouse.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.testkit.Infra;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.avro.Schema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Confluent API behaviour the pipeline relies on, asked of the real registry through our
 * client: a subject's own config, the compatibility check, a refused incompatible version, and the
 * registry's error codes for an unknown subject or schema.
 */
class RegistryCompatibilityIntegrationTest {

  private static final Schema V1 = record("{\"name\":\"id\",\"type\":\"string\"}");
  private static final Schema V2_DEFAULTED =
      record(
          "{\"name\":\"id\",\"type\":\"string\"},"
              + "{\"name\":\"tier\",\"type\":\"string\",\"default\":\"free\"}");
  private static final Schema V2_REQUIRED =
      record("{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"tier\",\"type\":\"string\"}");

  private static SchemaRegistryClient registry;

  @BeforeAll
  static void connect() {
    registry = new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
  }

  private static Schema record(String fields) {
    return new Schema.Parser()
        .parse("{\"type\":\"record\",\"name\":\"Evolving\",\"fields\":[" + fields + "]}");
  }

  private static String subject(String name) {
    return name + "-" + System.nanoTime() + "-value";
  }

  @Test
  void aSubjectsOwnLevelIsSetAndReadBack() {
    String subject = subject("config");
    registry.register(subject, V1);
    registry.setCompatibility(subject, "FULL");
    assertEquals("FULL", registry.compatibility(subject));
    registry.setCompatibility(subject, "BACKWARD_TRANSITIVE");
    assertEquals("BACKWARD_TRANSITIVE", registry.compatibility(subject));
  }

  @Test
  void aDefaultedFieldIsBackwardCompatibleAndARequiredOneIsNot() {
    String subject = subject("check");
    registry.register(subject, V1);
    registry.setCompatibility(subject, "BACKWARD");
    assertTrue(registry.isCompatibleWithLatest(subject, V2_DEFAULTED));
    assertFalse(registry.isCompatibleWithLatest(subject, V2_REQUIRED));
  }

  @Test
  void registeringAnIncompatibleVersionIsRefusedWith409AndIsNotTrouble() {
    String subject = subject("refused");
    registry.register(subject, V1);
    registry.setCompatibility(subject, "BACKWARD");
    SchemaRegistryException e =
        assertThrows(SchemaRegistryException.class, () -> registry.register(subject, V2_REQUIRED));
    assertEquals(409, e.httpStatus());
    assertTrue(registry.trouble().isEmpty(), "the registry answered");
    int next = registry.register(subject, V2_DEFAULTED);
    assertEquals(V2_DEFAULTED, registry.schemaById(next));
  }

  @Test
  void instancesRegisteringTheSameNewSubjectAtOnceAllGetItsOneId() throws Exception {
    // Apicurio answers 409 "already exists" to the loser of such a race (seen with two
    // gateway-ingest instances starting together); every instance must start with the same id.
    for (int round = 0; round < 5; round++) {
      String subject = subject("race");
      Set<Integer> distinct = new HashSet<>(atOnce(6, instance -> instance.register(subject, V1)));
      assertEquals(Set.of(registry.register(subject, V1)), distinct, subject);
    }
  }

  @Test
  void instancesRequiringBackwardOnTheSameSubjectAtOnceAllStart() throws Exception {
    // Apicurio answers the loser of this race 409 "A rule named 'COMPATIBILITY' already exists"
    // (seen with two gateway-ingest instances starting together).
    for (int round = 0; round < 5; round++) {
      String subject = subject("level-race");
      registry.register(subject, V1);
      atOnce(
          6,
          instance -> {
            instance.requireBackwardCompatibility(subject);
            return subject;
          });
      assertEquals("BACKWARD", registry.compatibility(subject), subject);
    }
  }

  /** What {@code call} returns for each of {@code instances} clients that call it at once. */
  private static <T> List<T> atOnce(int instances, Function<SchemaRegistryClient, T> call)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(instances);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<T>> futures = new ArrayList<>();
      for (int i = 0; i < instances; i++) {
        SchemaRegistryClient instance =
            new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  return call.apply(instance);
                }));
      }
      start.countDown();
      List<T> results = new ArrayList<>();
      for (Future<T> future : futures) {
        results.add(future.get(60, TimeUnit.SECONDS));
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anUnknownSchemaIdIs40403() {
    SchemaRegistryException e =
        assertThrows(SchemaRegistryException.class, () -> registry.schemaById(2_000_000_000));
    assertEquals(40403, e.errorCode());
    assertTrue(e.schemaNotFound());
    assertTrue(registry.trouble().isEmpty(), "an answer, not trouble");
  }

  @Test
  void anUnknownSubjectHasNoLevelAndItsCheckIsNotFound() {
    String subject = subject("unknown");
    assertNull(registry.compatibility(subject));
    SchemaRegistryException e =
        assertThrows(
            SchemaRegistryException.class, () -> registry.isCompatibleWithLatest(subject, V1));
    assertEquals(404, e.httpStatus());
    // Confluent answers 40401 (no such subject); Apicurio 40402 (no version "latest").
    assertTrue(e.errorCode() == 40401 || e.errorCode() == 40402, "error_code " + e.errorCode());
    assertFalse(e.schemaNotFound());
    assertTrue(registry.trouble().isEmpty(), "an answer, not trouble");
  }
}
