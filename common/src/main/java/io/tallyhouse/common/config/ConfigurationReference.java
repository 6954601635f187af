package io.tallyhouse.common.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Renders the configuration reference (docs/CONFIGURATION.md) from what each component's
 * configuration reads, so the document lists exactly the variables the code reads, with the code's
 * defaults and meanings.
 */
public final class ConfigurationReference {

  private ConfigurationReference() {}

  /**
   * A component and how it reads its configuration (the reading's result is not needed, only its
   * descriptions).
   */
  public record Component(String name, Consumer<Settings> reader) {

    /** The variables the component reads, read from an empty environment. */
    List<Settings.Setting> settings() {
      Settings settings = Settings.of(Map.of());
      reader.accept(settings);
      return settings.described();
    }
  }

  /**
   * The markdown of the reference: one table per component, then the variables several components
   * share.
   */
  public static String markdown(List<Component> components) {
    StringBuilder md = new StringBuilder();
    md.append("# Configuration reference\n\n")
        .append(
            "Every environment variable each component reads, with its default and meaning. Generated from the code\n")
        .append(
            "by `make config-reference`; do not edit by hand (a test fails when this file and the code differ).\n")
        .append(
            "Every service also takes `--check-config`: it validates its environment, lists every problem at once\n")
        .append("and exits with 0 (valid) or 2 (not).\n");
    Map<String, List<String>> readers = new LinkedHashMap<>();
    Map<String, Settings.Setting> first = new LinkedHashMap<>();
    for (Component component : components) {
      md.append("\n## ")
          .append(component.name())
          .append("\n\n")
          .append("| Variable | Default | Meaning |\n")
          .append("|---|---|---|\n");
      for (Settings.Setting setting : component.settings()) {
        md.append("| `")
            .append(setting.name())
            .append("` | ")
            .append(setting.defaultText().isEmpty() ? "" : "`" + cell(setting.defaultText()) + "`")
            .append(" | ")
            .append(cell(setting.meaning()))
            .append(" |\n");
        readers.computeIfAbsent(setting.name(), name -> new ArrayList<>()).add(component.name());
        first.putIfAbsent(setting.name(), setting);
      }
    }
    md.append("\n## Shared by several components\n\n")
        .append(
            "Set these to the same value on every component that reads them: they describe the same Kafka topics,\n")
        .append(
            "ClickHouse database and key file, and the dedup window that gateway-ingest enforces is the one\n")
        .append("usage-stream removes duplicates in.\n\n")
        .append("| Variable | Read by |\n")
        .append("|---|---|\n");
    readers.forEach(
        (name, names) -> {
          if (names.size() > 1 && !PipelineSettings.PER_SERVICE.contains(name)) {
            md.append("| `")
                .append(name)
                .append("` | ")
                .append(String.join(", ", names))
                .append(" |\n");
          }
        });
    return md.toString();
  }

  /**
   * An example environment file of {@code component}: every variable it reads, commented out, with
   * its meaning and default, so that an operator uncomments only what differs from the default.
   */
  public static String envExample(Component component) {
    StringBuilder env = new StringBuilder();
    env.append("# ")
        .append(component.name())
        .append(
            ": every environment variable it reads, with its meaning and default (the same as\n")
        .append("# docs/CONFIGURATION.md). Uncomment and set what differs from the default.\n");
    for (Settings.Setting setting : component.settings()) {
      String meaning = oneLine(setting.meaning());
      env.append('\n');
      if (setting.name().endsWith("*")) {
        // A family of variables: one per property, named by the property.
        env.append("# ").append(setting.name()).append(": ").append(meaning).append('\n');
        continue;
      }
      env.append("# ").append(meaning);
      String value = setting.defaultText();
      if (!value.isEmpty()) {
        env.append(" (default: ").append(oneLine(value)).append(')');
      }
      env.append('\n')
          .append('#')
          .append(setting.name())
          .append('=')
          .append(exampleValue(value))
          .append('\n');
    }
    return env.toString();
  }

  /**
   * The value part of a default that carries an explanation in parentheses ({@code 5242880 (5
   * MiB)}); nothing for a default that is a description computed at start ({@code one per core}).
   */
  private static String exampleValue(String defaultText) {
    int explained = defaultText.indexOf(" (");
    String value =
        explained > 0 && defaultText.endsWith(")")
            ? defaultText.substring(0, explained)
            : defaultText;
    return value.contains(" ") ? "" : value;
  }

  private static String oneLine(String text) {
    return text.replace("\n", " ");
  }

  private static String cell(String text) {
    return text.replace("|", "\\|").replace("\n", " ");
  }
}
