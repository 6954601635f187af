package io.tallyhouse.local;

import io.tallyhouse.common.config.ConfigurationReference.Component;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The configuration rule for deployment files (deploy/compose, deploy/k8s): the environment a
 * deployment gives each Tallyhouse component, checked against what that component's code reads (the
 * same readers docs/CONFIGURATION.md is generated from), so the files and the code cannot drift
 * apart.
 */
final class DeployedConfiguration {

  /**
   * Read by the distribution's bin/ launchers (the JVM's options), not by the components' code, so
   * absent from the reference.
   */
  static final Set<String> LAUNCHER_VARIABLES = Set.of("JAVA_OPTS");

  /**
   * A compose service or Kubernetes container, by name -> the component of the configuration
   * reference it runs.
   */
  static final Map<String, String> COMPONENTS =
      Map.of(
          "gateway-ingest", "gateway-ingest",
          "usage-stream", "usage-stream",
          "activity-query", "activity-query",
          "migrate", "tallyhouse migrate (tools)");

  /**
   * Credentials differ per component on purpose: activity-query reads with a read-only ClickHouse
   * user, usage-stream writes with another (deploy/README.md, "TLS and credentials").
   */
  private static final Set<String> PER_COMPONENT_CREDENTIALS =
      Set.of("CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD");

  /** One component's environment in a deployment; {@code where} names it in failure messages. */
  private record Deployed(String where, Component component, Map<String, String> env) {}

  private final List<Deployed> deployed = new ArrayList<>();

  /**
   * Adds the environment {@code env} a deployment gives the component named {@code component} (its
   * name in the configuration reference); {@code where} names it in failure messages.
   */
  DeployedConfiguration add(String where, String component, Map<String, String> env) {
    deployed.add(
        new Deployed(where + " (" + component + ")", component(component), new TreeMap<>(env)));
    return this;
  }

  /**
   * Every breach of the rule, each naming where and the variable: a variable the component does not
   * read, a value its reader refuses, a variable a container must set but does not (its default is
   * a loopback address or a path inside a checkout), a loopback address in a value (a container's
   * loopback is itself), and a variable several components share set to different values.
   */
  List<String> problems() {
    List<String> problems = new ArrayList<>();
    Map<String, Map<String, String>> sharedValues = new TreeMap<>();
    for (Deployed d : deployed) {
      String where = d.where();
      Map<String, String> env = d.env();
      Component component = d.component();
      List<Settings.Setting> read = described(component);
      env.forEach(
          (name, value) -> {
            if (!LAUNCHER_VARIABLES.contains(name) && !reads(read, name)) {
              problems.add(where + " sets " + name + ", which it does not read");
            }
            if (value.contains("127.0.0.1") || value.contains("localhost")) {
              problems.add(
                  where + " sets " + name + "=" + value + ": a container's loopback is itself");
            }
          });
      for (Settings.Setting setting : read) {
        String name = setting.name();
        if (!name.endsWith("*") && !env.containsKey(name) && mustBeSet(setting)) {
          problems.add(
              where
                  + " does not set "
                  + name
                  + ", whose default ("
                  + setting.defaultText()
                  + ") is wrong in a container");
        }
        if (!name.endsWith("*")
            && !PipelineSettings.PER_SERVICE.contains(name)
            && !PER_COMPONENT_CREDENTIALS.contains(name)) {
          sharedValues
              .computeIfAbsent(name, n -> new TreeMap<>())
              .put(where, env.getOrDefault(name, "(default " + setting.defaultText() + ")"));
        }
      }
      Settings settings = Settings.of(env);
      component.reader().accept(settings);
      for (String problem : settings.problems()) {
        // Files (certificates, truststores) exist only inside the container.
        if (!problem.endsWith("must be a readable file (unset it for none)")) {
          problems.add(where + ": " + problem);
        }
      }
    }
    sharedValues.forEach(
        (name, byWhere) -> {
          if (byWhere.size() > 1 && new TreeSet<>(byWhere.values()).size() > 1) {
            problems.add(name + " differs between the components that share it: " + byWhere);
          }
        });
    return problems;
  }

  private static Component component(String name) {
    return ConfigurationReferenceFile.components().stream()
        .filter(c -> c.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no component named " + name));
  }

  private static List<Settings.Setting> described(Component component) {
    Settings settings = Settings.of(Map.of());
    component.reader().accept(settings);
    return settings.described();
  }

  /** Whether the component reads {@code name}, itself or as one of a prefixed family. */
  private static boolean reads(List<Settings.Setting> read, String name) {
    return read.stream()
        .map(Settings.Setting::name)
        .anyMatch(
            variable ->
                variable.endsWith("*")
                    ? name.startsWith(variable.substring(0, variable.length() - 1))
                        && name.length() >= variable.length()
                    : variable.equals(name));
  }

  /**
   * Whether a container must set the variable: it is required, or its default only makes sense on a
   * developer's machine (a loopback address, the local stack's .run/ directory).
   */
  private static boolean mustBeSet(Settings.Setting setting) {
    String defaultText = setting.defaultText();
    return defaultText.equals("(required)")
        || defaultText.contains("127.0.0.1")
        || defaultText.startsWith(".run/");
  }
}
