package io.tallyhouse.common.runtime;

import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.config.Settings;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;

/**
 * The {@code main} of every service: reads its typed configuration from the environment, refuses to
 * start with every problem listed at once, and otherwise runs the service until SIGTERM or Ctrl-C,
 * then closes it.
 *
 * <p>{@code --check-config} only reads and validates the configuration: exit code 0 when the
 * service could start with it, 2 (and every problem on stderr) when not. An operator runs it before
 * a rollout. {@code --version} prints the build's version (and commit, when known).
 *
 * <p>SIGTERM and SIGINT close the service and exit with 0 once it is closed (1 if closing failed),
 * not with the JVM's default 143/130: an orchestrator that asked a service to stop sees a clean
 * stop as a success.
 */
public final class ServiceMain {

  /** Exit code of a configuration the service refuses. */
  public static final int CONFIG_ERROR = 2;

  private ServiceMain() {}

  /** Starts a service from its configuration; the returned handle stops it. */
  @FunctionalInterface
  public interface Starter<C> {
    AutoCloseable start(C config) throws Exception;
  }

  /**
   * Runs the service {@code name}; returns only when it was asked to stop (or exits on a usage or
   * config error).
   */
  public static <C> void run(
      String name, String[] args, Function<Settings, C> readConfig, Starter<C> starter)
      throws Exception {
    int code = checkOnly(name, args, System.getenv(), readConfig, System.out, System.err);
    if (code >= 0) {
      System.exit(code);
    }
    C config;
    try {
      config = read(System.getenv(), readConfig);
    } catch (ConfigException e) {
      System.err.println(name + ": " + e.getMessage());
      System.exit(CONFIG_ERROR);
      return;
    }
    AutoCloseable service = starter.start(config);
    Stopper stopper = Stopper.onShutdown(name, service);
    stopper.exitOnSignal("TERM");
    stopper.exitOnSignal("INT");
    stopper.stopped.await();
  }

  /**
   * Closes a service once, whoever asks first: a stop signal's handler (which then exits with the
   * outcome) or the shutdown hook (any other way the JVM exits).
   */
  private static final class Stopper {
    private final String name;
    private final AutoCloseable service;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private boolean closed;
    private boolean failed;

    private Stopper(String name, AutoCloseable service) {
      this.name = name;
      this.service = service;
    }

    /** A stopper that closes {@code service} when the JVM exits, at the latest. */
    static Stopper onShutdown(String name, AutoCloseable service) {
      Stopper stopper = new Stopper(name, service);
      Runtime.getRuntime().addShutdownHook(new Thread(stopper::stop, name + "-shutdown"));
      return stopper;
    }

    /** Closes the service unless that was done; true when it closed without an error. */
    synchronized boolean stop() {
      if (!closed) {
        closed = true;
        try {
          service.close();
        } catch (Exception e) {
          failed = true;
          System.err.println(name + ": stopping failed: " + e);
        } finally {
          stopped.countDown();
        }
      }
      return !failed;
    }

    void exitOnSignal(String signal) {
      // sun.misc.Signal is the JDK's supported way (module jdk.unsupported) to choose the exit
      // code of a stop signal; without a handler the JVM exits with 128 + the signal's number.
      try {
        sun.misc.Signal.handle(
            new sun.misc.Signal(signal), received -> System.exit(stop() ? 0 : 1));
      } catch (IllegalArgumentException e) {
        // The JVM keeps the signal (-Xrs, or a tool attached): the shutdown hook still closes
        // the service, only the exit code stays the JVM's.
        System.err.println(name + ": SIG" + signal + " stays the JVM's: " + e.getMessage());
      }
    }
  }

  /**
   * Closes {@code service} when the JVM is asked to stop (SIGTERM, Ctrl-C); the returned latch
   * opens once it is closed, so the main thread can wait on it and the JVM exits only after the
   * close.
   */
  public static CountDownLatch closeOnShutdown(String name, AutoCloseable service) {
    return Stopper.onShutdown(name, service).stopped;
  }

  /**
   * The configuration {@code readConfig} builds from {@code env}; a ConfigException lists every
   * problem.
   */
  public static <C> C read(Map<String, String> env, Function<Settings, C> readConfig) {
    Settings settings = Settings.of(env);
    C config;
    try {
      config = readConfig.apply(settings);
    } catch (IllegalArgumentException e) {
      // A rule checked while building the config (a record's constructor): reported with the
      // others.
      if (settings.problems().isEmpty()) {
        throw new ConfigException(java.util.List.of(e.getMessage()));
      }
      throw new ConfigException(concat(settings, e.getMessage()));
    }
    return settings.validate(config);
  }

  /**
   * Handles the arguments that do not start the service: the exit code for {@code --check-config}
   * and {@code --help} (and for an unknown argument), or -1 when the service is to start.
   */
  static <C> int checkOnly(
      String name,
      String[] args,
      Map<String, String> env,
      Function<Settings, C> readConfig,
      PrintStream out,
      PrintStream err) {
    if (args.length == 0) {
      return -1;
    }
    if (args.length == 1 && args[0].equals("--version")) {
      out.println(BuildVersion.current().describe(name));
      return 0;
    }
    if (args.length == 1 && args[0].equals("--check-config")) {
      try {
        read(env, readConfig);
        out.println(name + ": configuration OK");
        return 0;
      } catch (ConfigException e) {
        err.println(name + ": " + e.getMessage());
        return CONFIG_ERROR;
      }
    }
    boolean help = args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"));
    (help ? out : err)
        .println(
            "Usage: "
                + name
                + " [--check-config | --version]\n"
                + "  Runs "
                + name
                + " with the settings of its environment (see docs/CONFIGURATION.md).\n"
                + "  --check-config  only validates the settings: exit code 0 when they are valid, "
                + CONFIG_ERROR
                + " with every problem listed when not\n"
                + "  --version       prints the build's version");
    return help ? 0 : 64;
  }

  private static java.util.List<String> concat(Settings settings, String more) {
    java.util.List<String> all = new java.util.ArrayList<>(settings.problems());
    all.add(more);
    return all;
  }
}
