package io.tallyhouse.local;

import io.tallyhouse.common.config.ConfigurationReference;
import io.tallyhouse.common.config.ConfigurationReference.Component;
import io.tallyhouse.ingest.IngestConfig;
import io.tallyhouse.query.QueryConfig;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.tools.migrate.MigrateCommand;
import io.tallyhouse.tools.reconcile.ReconcileSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code make config-reference}: writes docs/CONFIGURATION.md from what each component's
 * configuration reads. This module is the one that sees every component, so the reference is made
 * here.
 */
public final class ConfigurationReferenceFile {

  /** Where the reference lives, from the repository's root. */
  public static final Path PATH = Path.of("docs", "CONFIGURATION.md");

  private ConfigurationReferenceFile() {}

  /**
   * Every component that reads the environment, in the order data flows through them; a service's
   * component is named as the service.
   */
  public static List<Component> components() {
    return List.of(
        new Component("gateway-ingest", IngestConfig::read),
        new Component("usage-stream", StreamConfig::read),
        new Component("activity-query", QueryConfig::read),
        new Component("tallyhouse reconcile (tools)", ReconcileSettings::read),
        new Component("tallyhouse migrate (tools)", MigrateCommand::settings));
  }

  /** The reference's text. */
  public static String render() {
    return ConfigurationReference.markdown(components());
  }

  /**
   * Writes the reference under the directory given as the only argument (the repository's root).
   */
  public static void main(String[] args) throws IOException {
    Path root = Path.of(args.length == 1 ? args[0] : ".");
    Path file = root.resolve(PATH);
    Files.createDirectories(file.getParent());
    Files.writeString(file, render(), StandardCharsets.UTF_8);
    System.out.println("wrote " + file);
  }
}
