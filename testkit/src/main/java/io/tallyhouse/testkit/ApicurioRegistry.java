package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The real Apicurio Registry (its Confluent-compatible API) as a child process. Confluent's own
 * registry is not on Maven Central; Apicurio's runnable archive is, and the testkit module unpacks
 * it at build time.
 *
 * <p>Its storage is SQL on an embedded H2 database: in memory by default (each start is empty), or
 * in a file under a data directory ({@link #start(Path, int, Path)}), so that subjects, versions
 * and schema ids survive a restart, as the ids inside records already on Kafka require.
 */
public final class ApicurioRegistry implements RegistryEndpoint {

  private static final HttpClient PLAIN = HttpClient.newHttpClient();

  private final Process process;
  private final int port;
  private final Path log;
  private final String scheme;
  private final HttpClient http;

  private ApicurioRegistry(Process process, int port, Path log, String scheme, HttpClient http) {
    this.process = process;
    this.port = port;
    this.log = log;
    this.scheme = scheme;
    this.http = http;
  }

  /**
   * Starts the registry from the unpacked archive in {@code home} on {@code port}, waits until it
   * is ready and sets the global compatibility to BACKWARD (Confluent's default; Apicurio's is
   * NONE).
   */
  public static ApicurioRegistry start(Path home, int port) {
    return start(home, port, null, null, null);
  }

  /**
   * As {@link #start(Path, int)}, keeping the registry's database in {@code dataDir} (created when
   * missing): a later start on the same directory serves the same subjects, versions and ids.
   */
  public static ApicurioRegistry start(Path home, int port, Path dataDir) {
    return start(home, port, null, null, dataDir);
  }

  /**
   * As {@link #start(Path, int)} on a free port, serving https only with the key pair of {@code
   * owner} from {@code certificates}, which must name {@link TlsCertificates#LOCAL_HOST} (Quarkus
   * then refuses plain requests).
   */
  public static ApicurioRegistry startTls(TlsCertificates certificates, String owner) {
    return start(Infra.apicurioHome(), Ports.freePort(), certificates, owner, null);
  }

  private static ApicurioRegistry start(
      Path home, int port, TlsCertificates certificates, String owner, Path dataDir) {
    TestLane.requireServersAllowed("the schema registry");
    Path runner = findRunner(home);
    Path log;
    try {
      log = Files.createTempFile("apicurio-" + port + "-", ".log");
      if (dataDir != null) {
        Files.createDirectories(dataDir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx384m");
    command.add("-XX:+UseSerialGC");
    command.add("-Dquarkus.http.host=127.0.0.1");
    if (certificates == null) {
      command.add("-Dquarkus.http.port=" + port);
    } else {
      command.add("-Dquarkus.http.port=" + Ports.freePort());
      command.add("-Dquarkus.http.ssl-port=" + port);
      command.add("-Dquarkus.http.insecure-requests=disabled");
      command.add("-Dquarkus.http.ssl.certificate.key-store-file=" + certificates.keystore(owner));
      command.add("-Dquarkus.http.ssl.certificate.key-store-file-type=PKCS12");
      command.add(
          "-Dquarkus.http.ssl.certificate.key-store-password=" + certificates.storePassword());
    }
    if (dataDir != null) {
      // The archive's storage is already SQL on H2, in memory; a file URL is all persistence takes.
      // WRITE_DELAY=0 writes each commit at once, so a registry killed right after registering a
      // schema still knows the id that records on Kafka may already carry.
      command.add(
          "-Dquarkus.datasource.jdbc.url=jdbc:h2:file:"
              + dataDir.toAbsolutePath().resolve("registry")
              + ";WRITE_DELAY=0");
    }
    command.add("-Dquarkus.log.level=WARN");
    command.add("-jar");
    command.add(runner.getFileName().toString());
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .directory(runner.getParent().toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start Apicurio Registry from " + runner, e);
    }
    String scheme = certificates == null ? "http" : "https";
    HttpClient http =
        certificates == null
            ? PLAIN
            : HttpClient.newBuilder()
                // HTTP/2 (what ALPN picks) lost a request to a GOAWAY right after start.
                .version(HttpClient.Version.HTTP_1_1)
                .sslContext(certificates.clientContext())
                .build();
    ApicurioRegistry registry = new ApicurioRegistry(process, port, log, scheme, http);
    Runtime.getRuntime().addShutdownHook(new Thread(registry::stop, "apicurio-stop"));
    // About 7 s on an idle box; minutes on a starved one. A registry that dies fails the wait at
    // once.
    Processes.awaitHttp(
        "Apicurio Registry",
        process,
        registry.base() + "/health/ready",
        body -> body.contains("UP"),
        Await.CEILING,
        log,
        http);
    registry.setBackwardCompatibility();
    return registry;
  }

  @Override
  public String url() {
    return base() + "/apis/ccompat/v7";
  }

  /** Over https the host is {@code localhost}, the name the test certificate carries. */
  private String base() {
    return scheme.equals("http")
        ? "http://127.0.0.1:" + port
        : "https://" + TlsCertificates.LOCAL_HOST + ":" + port;
  }

  public void stop() {
    Processes.stop(process, Duration.ofSeconds(10));
  }

  private void setBackwardCompatibility() {
    // The first request after ready warms the registry up; on a starved machine that took more than
    // 10 s.
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(url() + "/config"))
            .timeout(Await.STALL)
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .PUT(HttpRequest.BodyPublishers.ofString("{\"compatibility\":\"BACKWARD\"}"))
            .build();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(
            "setting BACKWARD compatibility failed: "
                + response.statusCode()
                + " "
                + response.body());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static Path findRunner(Path home) {
    if (!Files.isDirectory(home)) {
      throw new IllegalStateException(
          "Apicurio Registry is not unpacked at "
              + home
              + ". Fix: run `mvn -pl testkit -am install -DskipTests` (the testkit module unpacks it), or set the system"
              + " property tallyhouse.apicurio.home to the unpacked apicurio-registry-app archive.");
    }
    try (Stream<Path> files = Files.walk(home, 3)) {
      return files
          .filter(p -> p.getFileName().toString().endsWith("-runner.jar"))
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("no *-runner.jar under " + home));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
