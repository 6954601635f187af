package io.tallyhouse.dist;

import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.tools.TallyhouseCli;
import java.util.List;

/**
 * A program a distribution starts: its name (the launcher's name in {@code bin/}), its main class
 * and what it is. Each service has a distribution of its own; every distribution also has the
 * tools.
 */
public record Service(String name, String mainClass, String what) {

  public static final Service GATEWAY_INGEST =
      new Service(
          "gateway-ingest",
          IngestServer.class.getName(),
          "takes usage events over HTTP and publishes them to Kafka.");
  public static final Service USAGE_STREAM =
      new Service(
          "usage-stream",
          UsageStreamApp.class.getName(),
          "removes duplicate events, rolls them up per day and writes both to ClickHouse.");
  public static final Service ACTIVITY_QUERY =
      new Service(
          "activity-query",
          ActivityServer.class.getName(),
          "serves GET /api/v1/activity from ClickHouse.");
  public static final Service TOOLS =
      new Service(
          "tallyhouse",
          TallyhouseCli.class.getName(),
          "the operator's tools: migrate, keys, reconcile.");

  /** The services, each of which is one distribution. */
  public static final List<Service> SERVICES =
      List.of(GATEWAY_INGEST, USAGE_STREAM, ACTIVITY_QUERY);

  /** The service {@code name}; fails naming the services there are. */
  public static Service named(String name) {
    return SERVICES.stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "no service named '"
                        + name
                        + "': one of "
                        + SERVICES.stream().map(Service::name).toList()));
  }
}
