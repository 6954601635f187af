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

  private static String cell(String text) {
    return text.replace("|", "\\|").replace("\n", " ");
  }
}
