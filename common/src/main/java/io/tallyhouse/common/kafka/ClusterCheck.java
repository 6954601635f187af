package io.tallyhouse.common.kafka;

import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/** Whether a Kafka cluster answers: one metadata request, bounded to about 3 seconds. */
public final class ClusterCheck {

  private ClusterCheck() {}

  /** Whether the cluster {@code admin} talks to answers a describe-cluster request in time. */
  public static boolean answers(Admin admin) {
    try {
      admin
          .describeCluster(new DescribeClusterOptions().timeoutMs(2000))
          .clusterId()
          .get(3, TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return false;
    }
  }
}
