package io.tallyhouse.testkit;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real ZooKeeper server (Apache ZooKeeper from Maven Central) as a child JVM, for replicated
 * ClickHouse tables and their distributed DDL. Data lives in {@code dir} and survives {@link
 * #stop()} and {@link #start()}. The testkit module copies the server's jars into {@code
 * testkit/target/zookeeper} at build time, so they never join a test's own class path.
 */
public final class ZooKeeperServer {

  /** The system property naming the folder with the server's jars (the build sets none: found). */
  static final String LIB_PROPERTY = "tallyhouse.zookeeper.lib";

  private final Path dir;
  private final int clientPort;
  private Process process;

  /** The process {@link #stop()} is ending, so its exit is no crash. */
  private volatile Process ending;

  private ZooKeeperServer(Path dir, int clientPort) {
    this.dir = dir;
    this.clientPort = clientPort;
  }

  /** Starts the server on {@code clientPort} and waits until it serves client sessions. */
  public static ZooKeeperServer start(Path dir, int clientPort) {
    TestLane.requireServersAllowed("ZooKeeper");
    ZooKeeperServer server = new ZooKeeperServer(dir.toAbsolutePath(), clientPort);
    server.writeConfig();
    server.launch();
    Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "zookeeper-stop"));
    return server;
  }

  public String host() {
    return "127.0.0.1";
  }

  public int clientPort() {
    return clientPort;
  }

  /** Starts a stopped server again on the same port and data. */
  public synchronized void start() {
    if (process == null || !process.isAlive()) {
      launch();
    }
  }

  public synchronized void stop() {
    ending = process;
    Processes.stop(process, Duration.ofSeconds(10));
    process = null;
  }

  /**
   * Whether the server serves client sessions now. {@code ruok} is not enough: the server answers
   * {@code imok} as soon as it listens, while it still closes every session handshake ("ZooKeeper
   * Server not running"), and a ClickHouse node that connects then starts its distributed DDL
   * worker on a failed session. {@code srvr} reports a {@code Mode} only once it serves.
   */
  public boolean isServing() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host(), clientPort), 2000);
      socket.setSoTimeout(2000);
      OutputStream out = socket.getOutputStream();
      out.write("srvr".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).contains("Mode: ");
    } catch (IOException e) {
      return false;
    }
  }

  private synchronized void launch() {
    Path log = dir.resolve("zookeeper.log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    command.add("-cp");
    command.add(classPath());
    command.add("org.apache.zookeeper.server.ZooKeeperServerMain");
    command.add(dir.resolve("zoo.cfg").toString());
    try {
      process =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start ZooKeeper", e);
    }
    Processes.reportUnexpectedExit("ZooKeeper", process, exited -> exited == ending, log);
    Processes.awaitReady("ZooKeeper", process, this::isServing, Await.STALL, log);
  }

  private void writeConfig() {
    // A short tick allows short client sessions (at least two ticks): a SIGKILLed ClickHouse
    // replica's session, and with it its "is active" mark, then expires within seconds.
    String config =
        """
        tickTime=500
        initLimit=10
        syncLimit=5
        dataDir=%s
        clientPort=%d
        clientPortAddress=127.0.0.1
        admin.enableServer=false
        4lw.commands.whitelist=srvr
        maxClientCnxns=0
        """
            .formatted(dir.resolve("data"), clientPort);
    try {
      Files.createDirectories(dir.resolve("data"));
      Files.writeString(dir.resolve("zoo.cfg"), config, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the ZooKeeper configuration in " + dir, e);
    }
  }

  private static String classPath() {
    Path lib = BuildOutput.find(LIB_PROPERTY, "testkit/target/zookeeper");
    List<String> jars = List.of();
    if (Files.isDirectory(lib)) {
      try (Stream<Path> files = Files.list(lib)) {
        jars = files.map(Path::toString).filter(p -> p.endsWith(".jar")).sorted().toList();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + lib, e);
      }
    }
    if (jars.stream().noneMatch(p -> p.contains("zookeeper-3"))) {
      throw new IllegalStateException(
          "ZooKeeper's jars are not in "
              + lib
              + ". Fix: build the testkit module (`mvn -pl testkit -am package -DskipTests` copies them"
              + " there), or set the system property "
              + LIB_PROPERTY
              + " to a folder holding them.");
    }
    return String.join(File.pathSeparator, jars);
  }
}
