package io.tallyhouse.local;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Several instances of each service as child JVMs sharing one environment, started together and all
 * stopped at the end, also when the test fails or its JVM exits.
 */
final class ServiceFleet implements AutoCloseable {

  private static final Duration STOP_GRACE = Duration.ofSeconds(60);

  private final Path home;
  private final Map<String, String> env;
  private final List<ServiceProcess> instances = new ArrayList<>();
  private final Thread killOnExit;

  /** A fleet whose instances share {@code env} and keep their state and logs in {@code home}. */
  ServiceFleet(Path home, Map<String, String> env) {
    this.home = home;
    this.env = Map.copyOf(env);
    this.killOnExit = new Thread(this::killAll, "service-fleet-kill");
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  /**
   * Adds {@code count} instances named {@code service-1} .. {@code service-count} of the service
   * whose main class is {@code main}; instance {@code i} (from 0) also gets {@code own.apply(i)}.
   * They are not started yet.
   */
  synchronized List<ServiceProcess> add(
      String service, Class<?> main, int count, IntFunction<Map<String, String>> own) {
    List<ServiceProcess> added = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Map<String, String> instanceEnv = new HashMap<>(env);
      instanceEnv.putAll(own.apply(i));
      added.add(new ServiceProcess(service + "-" + (i + 1), main, instanceEnv, home));
    }
    instances.addAll(added);
    return added;
  }

  /** Starts {@code group} at once and waits until every one of them is ready. */
  static void start(List<ServiceProcess> group) throws InterruptedException {
    group.forEach(ServiceProcess::start);
    for (ServiceProcess instance : group) {
      instance.awaitReady();
    }
  }

  /** Fails, naming the instance and showing its log's end, when one of them is not running. */
  synchronized void assertAllAlive() {
    instances.forEach(ServiceProcess::assertAlive);
  }

  /** The end of every instance's log, for a failure report. */
  synchronized String logTails(int lines) {
    StringBuilder out = new StringBuilder();
    for (ServiceProcess instance : instances) {
      out.append("\n==== ").append(instance.name()).append(" ====\n").append(instance.tail(lines));
    }
    return out.toString();
  }

  /** SIGTERM to every instance at once, then waits for each (SIGKILL past the grace). */
  @Override
  public synchronized void close() throws InterruptedException {
    instances.forEach(ServiceProcess::requestStop);
    for (ServiceProcess instance : instances) {
      instance.stop(STOP_GRACE);
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException e) {
      // the JVM is already exiting; the hook runs and finds nothing left
    }
  }

  private void killAll() {
    for (ServiceProcess instance : instances) {
      if (instance.alive()) {
        try {
          instance.kill();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
