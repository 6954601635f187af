package io.tallyhouse.dist;

import io.tallyhouse.common.config.ConfigurationReference;
import io.tallyhouse.common.config.ConfigurationReference.Component;
import io.tallyhouse.local.ConfigurationReferenceFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * Writes what a service's tarball holds besides the jars (run by the build before the assembly):
 * the launchers of the service and of the tools, made from one template; the service's example
 * configuration, made from its configuration reference component (so it lists exactly the variables
 * the service reads); the logging configuration; the third-party licence list.
 */
public final class DistributionFiles {

  private DistributionFiles() {}

  /**
   * Arguments: the service, the output directory (the tarball's layout), the file of {@code mvn
   * dependency:list}, the local Maven repository (where the dependencies' POMs are).
   */
  public static void main(String[] args) throws IOException {
    if (args.length != 4) {
      throw new IllegalArgumentException(
          "usage: DistributionFiles SERVICE OUTPUT DEPENDENCY_LIST LOCAL_REPOSITORY");
    }
    Service service = Service.named(args[0]);
    Path out = Path.of(args[1]);
    List<String> dependencies = Files.readAllLines(Path.of(args[2]), StandardCharsets.UTF_8);

    String template = resource("launcher.sh");
    // The service logs as config/logback.xml says, unless JAVA_OPTS names another configuration.
    executable(
        out.resolve("bin").resolve(service.name()),
        launcher(template, service, "\"-Dlogback.configurationFile=$home/config/logback.xml\""));
    // The tools choose their own logging (warnings on stderr: their report is stdout).
    executable(out.resolve("bin/tallyhouse"), launcher(template, Service.TOOLS, ""));
    write(out.resolve("config/logback.xml"), resource("logback.xml"));
    write(
        out.resolve("config").resolve(service.name() + ".env.example"),
        ConfigurationReference.envExample(component(service)));
    write(
        out.resolve("THIRD-PARTY.txt"),
        ThirdPartyLicences.render(ThirdPartyLicences.parseList(dependencies), Path.of(args[3])));
  }

  /** The launcher of {@code service}: the template with its name, main class and JVM defaults. */
  static String launcher(String template, Service service, String jvmDefaults) {
    return template
        .replace("@NAME@", service.name())
        .replace("@WHAT@", service.what())
        .replace("@MAIN@", service.mainClass())
        .replace("@JVM_DEFAULTS@ ", jvmDefaults.isEmpty() ? "" : jvmDefaults + " ");
  }

  /** The configuration reference's component of {@code service}. */
  static Component component(Service service) {
    return ConfigurationReferenceFile.components().stream()
        .filter(c -> c.name().equals(service.name()))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "the configuration reference has no component named " + service.name()));
  }

  /** A template next to this class. */
  static String resource(String name) {
    try (InputStream in = DistributionFiles.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing next to DistributionFiles");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  private static void executable(Path file, String text) throws IOException {
    write(file, text);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
