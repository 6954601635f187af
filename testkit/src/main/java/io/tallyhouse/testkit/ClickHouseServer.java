package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * A real ClickHouse server (Debian's clickhouse-server) as a child process with a generated
 * configuration on the given ports. Data lives in {@code dir} and survives {@link #restart()} and
 * {@link #kill()}. ClickHouse merges every file in {@code dir/config.d/} into the generated
 * configuration: that is where a caller adds settings before {@link #start(Path, int, int)} (as
 * {@link ClickHouseCluster} does with its cluster settings).
 */
public final class ClickHouseServer implements ClickHouseEndpoint {

  /** The fix printed when there is no binary; {@code make test} runs it by itself as root. */
  static final String INSTALL_HINT =
      "Fix: as root run `apt-get update && apt-get install -y clickhouse-server`"
          + " (scripts/ensure-clickhouse.sh does this for `make test`), set CLICKHOUSE_SERVER_BIN to a clickhouse-server"
          + " binary, or run with a Docker engine (TALLYHOUSE_TEST_BACKEND=docker).";

  private final Path dir;
  private final int httpPort;
  private final int tcpPort;
  private final Secured secured;
  private Process process;

  /** The process {@link #stop()} or {@link #kill()} is ending, so its exit is no crash. */
  private volatile Process ending;

  /**
   * An HTTPS port with the certificate of {@code owner} from {@code certificates} (naming {@link
   * TlsCertificates#LOCAL_HOST}), and users with passwords besides the password-less {@code
   * default}.
   */
  public record Secured(
      int httpsPort, TlsCertificates certificates, String owner, List<User> users) {}

  /**
   * A user with a password; a read-only one has a profile with {@code readonly = 1}: no writes, no
   * DDL and no changed settings. The common ClickHouse client sends only the database with a query,
   * which that allows, so the stricter level suffices.
   */
  public record User(String name, String password, boolean readOnly) {}

  private ClickHouseServer(Path dir, int httpPort, int tcpPort, Secured secured) {
    this.dir = dir;
    this.httpPort = httpPort;
    this.tcpPort = tcpPort;
    this.secured = secured;
  }

  public static ClickHouseServer start(Path dir, int httpPort, int tcpPort) {
    return start(dir, httpPort, tcpPort, null);
  }

  /** As {@link #start(Path, int, int)}, with TLS and password users when {@code secured} is set. */
  public static ClickHouseServer start(Path dir, int httpPort, int tcpPort, Secured secured) {
    TestLane.requireServersAllowed("ClickHouse");
    ClickHouseServer server =
        new ClickHouseServer(dir.toAbsolutePath(), httpPort, tcpPort, secured);
    server.writeConfig();
    if (secured != null) {
      server.writeSecuredFragments();
    }
    server.launch();
    Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "clickhouse-stop"));
    return server;
  }

  @Override
  public String httpUrl() {
    return "http://127.0.0.1:" + httpPort;
  }

  /** The HTTPS endpoint of a server started with {@link Secured}. */
  public String httpsUrl() {
    if (secured == null) {
      throw new IllegalStateException("this ClickHouse server has no HTTPS port");
    }
    return "https://" + TlsCertificates.LOCAL_HOST + ":" + secured.httpsPort();
  }

  @Override
  public String user() {
    return "default";
  }

  @Override
  public String password() {
    return "";
  }

  /** The running server's process, for benchmarks that account for its CPU time. */
  public synchronized ProcessHandle process() {
    if (process == null) {
      throw new IllegalStateException("clickhouse-server is not running");
    }
    return process.toHandle();
  }

  public synchronized void stop() {
    ending = process;
    Processes.stop(process, Duration.ofSeconds(10));
    process = null;
  }

  /** Kills the server with SIGKILL, as a crash would; {@link #start()} brings it back. */
  public synchronized void kill() {
    ending = process;
    Processes.kill(process);
    process = null;
  }

  /** Starts a stopped or killed server again on the same ports and data. */
  public synchronized void start() {
    if (process == null || !process.isAlive()) {
      launch();
    }
  }

  /** Stops and starts the server on the same ports and data, as an operator's restart would. */
  public synchronized void restart() {
    stop();
    launch();
  }

  static Path binary() {
    return Processes.executable(
        "clickhouse-server",
        "CLICKHOUSE_SERVER_BIN",
        "(There is no Docker engine.) " + INSTALL_HINT);
  }

  private synchronized void launch() {
    Path log = dir.resolve("log/clickhouse-server.log");
    try {
      process =
          new ProcessBuilder(binary().toString(), "--config-file=" + dir.resolve("config.xml"))
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("log/stdout.log").toFile())
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start clickhouse-server", e);
    }
    Processes.reportUnexpectedExit(
        "clickhouse-server at " + httpUrl(),
        process,
        exited -> exited == ending,
        dir.resolve("log/clickhouse-server.err.log"));
    Processes.awaitHttp(
        "clickhouse-server",
        process,
        httpUrl() + "/ping",
        body -> body.startsWith("Ok."),
        Await.STALL,
        log);
  }

  private void writeConfig() {
    try {
      for (String sub : new String[] {"data", "tmp", "user_files", "format_schemas", "log"}) {
        Files.createDirectories(dir.resolve(sub));
      }
      String config =
          """
          <?xml version="1.0"?>
          <yandex>
            <logger>
              <level>warning</level>
              <log>%1$s/log/clickhouse-server.log</log>
              <errorlog>%1$s/log/clickhouse-server.err.log</errorlog>
              <size>50M</size>
              <count>2</count>
            </logger>
            <listen_host>127.0.0.1</listen_host>
            <http_port>%2$d</http_port>
            <tcp_port>%3$d</tcp_port>
            <path>%1$s/data/</path>
            <tmp_path>%1$s/tmp/</tmp_path>
            <user_files_path>%1$s/user_files/</user_files_path>
            <format_schema_path>%1$s/format_schemas/</format_schema_path>
            <users_config>%1$s/users.xml</users_config>
            <default_profile>default</default_profile>
            <default_database>default</default_database>
            <mark_cache_size>268435456</mark_cache_size>
            <max_concurrent_queries>100</max_concurrent_queries>
            <timezone>UTC</timezone>
          </yandex>
          """
              .formatted(dir, httpPort, tcpPort);
      String users =
          """
          <?xml version="1.0"?>
          <yandex>
            <profiles>
              <default>
                <max_memory_usage>4000000000</max_memory_usage>
              </default>
            </profiles>
            <users>
              <default>
                <password></password>
                <networks>
                  <ip>127.0.0.1</ip>
                  <ip>::1</ip>
                </networks>
                <profile>default</profile>
                <quota>default</quota>
              </default>
            </users>
            <quotas>
              <default>
                <interval>
                  <duration>3600</duration>
                  <queries>0</queries>
                  <errors>0</errors>
                  <result_rows>0</result_rows>
                  <read_rows>0</read_rows>
                  <execution_time>0</execution_time>
                </interval>
              </default>
            </quotas>
          </yandex>
          """;
      Files.writeString(dir.resolve("config.xml"), config, StandardCharsets.UTF_8);
      Files.writeString(dir.resolve("users.xml"), users, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the ClickHouse configuration in " + dir, e);
    }
  }

  /**
   * The TLS listener and the users, as fragments the server merges into config.xml (config.d) and
   * users.xml (users.d), so the plain configuration stays one text.
   */
  private void writeSecuredFragments() {
    TlsCertificates certificates = secured.certificates();
    String tls =
        """
        <?xml version="1.0"?>
        <yandex>
          <https_port>%d</https_port>
          <openSSL>
            <server>
              <certificateFile>%s</certificateFile>
              <privateKeyFile>%s</privateKeyFile>
              <verificationMode>none</verificationMode>
              <loadDefaultCAFile>false</loadDefaultCAFile>
              <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
            </server>
          </openSSL>
        </yandex>
        """
            .formatted(
                secured.httpsPort(),
                certificates.certificate(secured.owner()),
                certificates.privateKeyPem(secured.owner()));
    StringBuilder users = new StringBuilder();
    for (User user : secured.users()) {
      users.append(
          """
              <%1$s>
                <password_sha256_hex>%2$s</password_sha256_hex>
                <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
                <profile>%3$s</profile>
                <quota>default</quota>
              </%1$s>
          """
              .formatted(
                  user.name(), sha256Hex(user.password()), user.readOnly() ? "reader" : "default"));
    }
    String usersXml =
        """
        <?xml version="1.0"?>
        <yandex>
          <profiles>
            <reader>
              <readonly>1</readonly>
            </reader>
          </profiles>
          <users>
        %s  </users>
        </yandex>
        """
            .formatted(users);
    try {
      Files.createDirectories(dir.resolve("config.d"));
      Files.createDirectories(dir.resolve("users.d"));
      Files.writeString(dir.resolve("config.d/tls.xml"), tls, StandardCharsets.UTF_8);
      Files.writeString(dir.resolve("users.d/passwords.xml"), usersXml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the ClickHouse TLS configuration in " + dir, e);
    }
  }

  private static String sha256Hex(String password) {
    try {
      return HexFormat.of()
          .formatHex(
              java.security.MessageDigest.getInstance("SHA-256")
                  .digest(password.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
