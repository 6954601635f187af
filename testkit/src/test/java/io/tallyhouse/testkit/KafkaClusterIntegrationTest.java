package io.tallyhouse.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three-node secured cluster is real: replicated, and it survives the loss of a node. */
class KafkaClusterIntegrationTest {

  @TempDir static Path dir;
  private static KafkaCluster cluster;

  @BeforeAll
  static void startCluster() {
    long start = System.nanoTime();
    cluster = KafkaCluster.start(dir, 3);
    System.out.printf(
        "KafkaCluster of 3 nodes started in %.1f s%n", (System.nanoTime() - start) / 1e9);
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void appWritesAndReadsOverSaslSslWithThreeReplicas() throws Exception {
    String topic = "plain";
    cluster.grantPrefix(KafkaCluster.APP, topic);
    createTopic(topic, 12);
    try (Admin admin = Admin.create(cluster.clientProperties(KafkaCluster.ADMIN))) {
      TopicDescription description =
          admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
      description.partitions().forEach(p -> assertEquals(3, p.replicas().size()));
    }
    Map<String, Object> producerProps = new HashMap<>(cluster.clientProperties(KafkaCluster.APP));
    producerProps.put("acks", "all");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < 100; i++) {
        producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get(60, TimeUnit.SECONDS);
      }
    }
    assertEquals(100, readAll(topic, 100).size());
  }

  @Test
  void noAcknowledgedRecordIsLostOrDoubledWhenABrokerIsKilled() throws Exception {
    int controller = cluster.activeController();
    int victim =
        cluster.nodeIds().stream().filter(id -> id != controller).findFirst().orElseThrow();
    survivesTheLossOf(victim, "broker-kill", () -> {});
  }

  @Test
  void noAcknowledgedRecordIsLostOrDoubledWhenTheActiveControllerIsKilled() throws Exception {
    int controller = cluster.activeController();
    survivesTheLossOf(
        controller,
        "controller-kill",
        () -> assertNotEquals(controller, cluster.activeController(), "the active controller"));
  }

  /**
   * With fewer than {@code min.insync.replicas=2} replicas in sync, acks=all is refused while
   * acks=1 is still taken. A partition of replication 2 shows it: with two of the three nodes down
   * the KRaft quorum (on the same nodes) is gone as well, so no ISR can shrink and acks=all sends
   * only time out.
   */
  @Test
  void acksAllIsRefusedWithOneReplicaInSync() throws Exception {
    String topic = "min-isr";
    cluster.grantPrefix(KafkaCluster.APP, topic);
    int leader = cluster.activeController();
    int follower = cluster.nodeIds().stream().filter(id -> id != leader).findFirst().orElseThrow();
    try (Admin admin = Admin.create(cluster.clientProperties(KafkaCluster.ADMIN))) {
      admin
          .createTopics(List.of(new NewTopic(topic, Map.of(0, List.of(leader, follower)))))
          .all()
          .get(60, TimeUnit.SECONDS);
      cluster.kill(follower);
      try {
        Await.until(
            "node " + follower + " out of the ISR of " + topic,
            () -> isr(admin, topic).equals(List.of(leader)),
            Duration.ofMinutes(3));
        ExecutionException refused =
            assertThrows(ExecutionException.class, () -> sendOnce(topic, "all"));
        assertInstanceOf(NotEnoughReplicasException.class, refused.getCause());
        sendOnce(topic, "1");
      } finally {
        cluster.start(follower);
      }
      cluster.awaitFullIsr();
      sendOnce(topic, "all");
    }
  }

  /**
   * An idempotent acks=all producer sends steadily while {@code victim} is SIGKILLed and started
   * again ({@code whileDown} runs while it is down); then a read_committed consumer finds every
   * acknowledged record exactly once.
   */
  private static void survivesTheLossOf(int victim, String topic, Runnable whileDown)
      throws Exception {
    cluster.grantPrefix(KafkaCluster.APP, topic);
    createTopic(topic, 12);
    try (SteadyProducer producer = new SteadyProducer(topic)) {
      producer.awaitMoreAcknowledged(2_000);
      cluster.kill(victim);
      try {
        producer.awaitMoreAcknowledged(2_000);
        whileDown.run();
      } finally {
        cluster.start(victim);
      }
      producer.awaitMoreAcknowledged(2_000);
      producer.stop();
      assertEquals(List.of(), producer.failures(), "sends that failed");
      cluster.awaitFullIsr();
      Map<String, Integer> read = readEverything(topic);
      List<String> doubled =
          read.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
      assertEquals(List.of(), doubled, "records read more than once");
      List<String> lost =
          producer.acknowledged().stream().filter(v -> !read.containsKey(v)).toList();
      assertEquals(List.of(), lost, "acknowledged records not read");
      assertEquals(producer.acknowledged().size(), read.size());
    }
  }

  private static void createTopic(String topic, int partitions) throws Exception {
    try (Admin admin = Admin.create(cluster.clientProperties(KafkaCluster.ADMIN))) {
      admin
          .createTopics(List.of(new NewTopic(topic, Optional.of(partitions), Optional.empty())))
          .all()
          .get(60, TimeUnit.SECONDS);
    }
  }

  private static List<String> readAll(String topic, int expected) {
    Map<String, Object> props = new HashMap<>(cluster.clientProperties(KafkaCluster.APP));
    props.put("group.id", topic + "-reader");
    props.put("auto.offset.reset", "earliest");
    props.put("isolation.level", "read_committed");
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (values.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
          values.add(record.value());
        }
      }
    }
    return values;
  }

  private static List<Integer> isr(Admin admin, String topic) {
    try {
      return admin
          .describeTopics(List.of(topic))
          .allTopicNames()
          .get(30, TimeUnit.SECONDS)
          .get(topic)
          .partitions()
          .get(0)
          .isr()
          .stream()
          .map(Node::id)
          .toList();
    } catch (Exception e) {
      return List.of();
    }
  }

  /** One record with {@code acks}, no retries, so a refusal is seen as the broker gave it. */
  private static void sendOnce(String topic, String acks) throws Exception {
    Map<String, Object> props = new HashMap<>(cluster.clientProperties(KafkaCluster.APP));
    props.put("acks", acks);
    props.put("enable.idempotence", "false");
    props.put("retries", 0);
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>(topic, "k", "acks=" + acks)).get(2, TimeUnit.MINUTES);
    }
  }

  /** How often each value is in {@code topic}, read to its end with read_committed. */
  private static Map<String, Integer> readEverything(String topic) throws Exception {
    Map<String, Object> props = new HashMap<>(cluster.clientProperties(KafkaCluster.ADMIN));
    props.put("isolation.level", "read_committed");
    props.put("enable.auto.commit", "false");
    Map<String, Integer> counts = new HashMap<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      Await.untilProgressStops(
          "reading " + topic + " to its end",
          () -> {
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
              counts.merge(record.value(), 1, Integer::sum);
            }
            return partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p));
          },
          () -> counts.size(),
          () -> "read " + counts.size() + " values, end offsets " + end);
    }
    return counts;
  }

  /**
   * Sends numbered records to every partition at a steady pace from its own thread, idempotent and
   * acks=all, with a delivery timeout long enough to ride out a node's loss; notes which the
   * cluster acknowledged and which failed.
   */
  private static final class SteadyProducer implements AutoCloseable {
    private final KafkaProducer<String, String> producer;
    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    SteadyProducer(String topic) {
      Map<String, Object> props = new HashMap<>(cluster.clientProperties(KafkaCluster.APP));
      props.put("acks", "all");
      props.put("enable.idempotence", "true");
      props.put("linger.ms", 5);
      props.put("delivery.timeout.ms", 300_000);
      producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
      thread =
          new Thread(
              () -> {
                long sequence = 0;
                while (running.get()) {
                  String value = "r-" + sequence++;
                  producer.send(
                      new ProducerRecord<>(topic, value, value),
                      (metadata, error) -> {
                        if (error == null) {
                          acknowledged.add(value);
                        } else {
                          failures.add(value + ": " + error);
                        }
                      });
                  if (sequence % 50 == 0) {
                    Processes.sleep(20);
                  }
                }
              },
              "steady-producer-" + topic);
      thread.start();
    }

    void awaitMoreAcknowledged(int more) throws InterruptedException {
      int target = acknowledged.size() + more;
      Await.untilProgressStops(
          target + " records acknowledged",
          () -> acknowledged.size() >= target,
          acknowledged::size,
          () -> acknowledged.size() + " acknowledged, failures: " + failures);
    }

    void stop() throws InterruptedException {
      running.set(false);
      thread.join();
      producer.flush();
    }

    Set<String> acknowledged() {
      return acknowledged;
    }

    List<String> failures() {
      return failures;
    }

    @Override
    public void close() throws InterruptedException {
      stop();
      producer.close();
    }
  }
}
