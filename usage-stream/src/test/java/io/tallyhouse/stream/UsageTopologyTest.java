package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dedup and rollup logic of the topology, record by record (the serde talks to the real registry). */
class UsageTopologyTest {

  private TopologyTestDriver driver;
  private TestInputTopic<String, UsageEvent> events;
  private TestOutputTopic<String, byte[]> rollups;

  @BeforeEach
  void setUp(@TempDir Path stateDir) {
    Serde<UsageEvent> serde = UsageEventSerde.create(new SchemaRegistryClient(new RegistryConfig(Infra.registry().url())));
    Clock clock = Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), ZoneOffset.UTC);
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    // Every update visible at once instead of once per commit.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    driver = new TopologyTestDriver(UsageTopology.build("events", "rollups", Duration.ofDays(35), serde, clock), props);
    events = driver.createInputTopic("events", Serdes.String().serializer(), serde.serializer());
    rollups = driver.createOutputTopic("rollups", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  private void send(UsageEvent e) {
    events.pipeInput(new TestRecord<>(e.getAccountId() + "/" + e.getEventId(), e, e.getCreatedAt()));
  }

  private Map<String, Rollup> latestRollups() {
    Map<String, Rollup> latest = new HashMap<>();
    for (TestRecord<String, byte[]> r : rollups.readRecordsToList()) {
      latest.put(r.key(), Rollup.fromJson(r.value()));
    }
    return latest;
  }

  @Test
  void duplicatesAreCountedOnceEvenDaysLater() {
    UsageEvent e = Events.event("acme", "gen-1", "2026-11-01T10:00:00Z", "u1", "0.5");
    send(e);
    send(e);
    // Stream time moves 20 days on with other events; the copy still falls inside the 35-day window.
    send(Events.event("acme", "gen-2", "2026-11-21T10:00:00Z", "u1", "1"));
    send(e);
    Map<String, Rollup> latest = latestRollups();
    Rollup day = latest.get(Rollup.groupKey(e));
    assertEquals(1, day.requests());
    assertEquals(1, day.version());
    assertEquals(new BigDecimal("0.500000000000"), day.usage());
  }

  @Test
  void sameEventIdInAnotherAccountIsADifferentEvent() {
    send(Events.event("acme", "gen-1", "2026-11-20T10:00:00Z", null, "1"));
    send(Events.event("beta", "gen-1", "2026-11-20T10:00:00Z", null, "2"));
    Map<String, Rollup> latest = latestRollups();
    assertEquals(2, latest.size());
    assertTrue(latest.values().stream().allMatch(r -> r.requests() == 1));
  }

  @Test
  void rollupEmitsFullRunningTotalsWithExactMoneyAndGrowingVersions() {
    send(Events.event("acme", "1", "2026-11-20T00:00:00Z", "u1", "0.000000000001"));
    send(Events.event("acme", "2", "2026-11-20T12:00:00Z", "u1", "123456789.123456789012"));
    send(Events.event("acme", "3", "2026-11-20T23:59:59.999999Z", "u1", "4.3022187e-05"));
    List<TestRecord<String, byte[]>> out = rollups.readRecordsToList();
    assertEquals(3, out.size());
    List<Long> versions = out.stream().map(r -> Rollup.fromJson(r.value()).version()).toList();
    assertEquals(List.of(1L, 2L, 3L), versions);
    Rollup last = Rollup.fromJson(out.get(2).value());
    assertEquals(new BigDecimal("123456789.123499811200"), last.usage());
    assertEquals(3, last.requests());
    assertEquals(30, last.promptTokens());
    assertEquals(60, last.completionTokens());
    assertEquals(9, last.reasoningTokens());
    assertEquals(12, last.cachedTokens());
    assertEquals(LocalDate.parse("2026-11-20"), last.date());
    assertEquals("u1", last.userId());
  }

  @Test
  void groupsSplitByUtcDayUserAndKey() {
    send(Events.event("acme", "1", "2026-11-20T23:59:59.999Z", "u1", "1"));
    send(Events.event("acme", "2", "2026-11-21T00:00:00Z", "u1", "1"));
    send(Events.event("acme", "3", "2026-11-21T00:00:01Z", null, "1"));
    UsageEvent otherKey = Events.event("acme", "4", "2026-11-21T00:00:02Z", null, "1");
    otherKey.setApiKeyHash(Events.KEY_B);
    send(otherKey);
    Map<String, Rollup> latest = latestRollups();
    assertEquals(4, latest.size());
    assertEquals(List.of("", "", "u1", "u1"), latest.values().stream().map(Rollup::userId).sorted().toList());
    assertEquals(1, latest.values().stream().filter(r -> r.date().equals(LocalDate.parse("2026-11-20"))).count());
  }

  @Test
  void byokCostsAndRequestsAddUp() {
    UsageEvent a = Events.event("acme", "1", "2026-11-20T10:00:00Z", null, "0.1");
    a.setIsByok(true);
    a.setByokCost(new BigDecimal("0.250000000000"));
    send(a);
    send(Events.event("acme", "2", "2026-11-20T11:00:00Z", null, "0.2"));
    Rollup r = latestRollups().get(Rollup.groupKey(a));
    assertEquals(2, r.requests());
    assertEquals(1, r.byokRequests());
    assertEquals(new BigDecimal("0.250000000000"), r.byokUsageInference());
    assertEquals(new BigDecimal("0.300000000000"), r.usage());
  }
}
