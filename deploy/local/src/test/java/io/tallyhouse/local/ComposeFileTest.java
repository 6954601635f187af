package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * deploy/compose/compose.yaml, parsed as docker compose reads it (YAML merge keys, ${VAR} from
 * .env): its structure, and the environment of every Tallyhouse service against what that service's
 * code reads.
 */
class ComposeFileTest {

  /** The repository's root: surefire runs this module's tests in deploy/local. */
  private static final Path ROOT = Path.of("..", "..");

  private static final Path COMPOSE_DIR = ROOT.resolve("deploy/compose");

  private static final Set<String> SERVICES =
      Set.of("gateway-ingest", "usage-stream", "activity-query");

  private static final String TALLYHOUSE_IMAGES = "ghcr.io/tallyhouse/";

  /** ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}. */
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?}");

  private static String text;
  private static Map<String, Object> compose;
  private static Map<String, Map<String, Object>> services;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void parse() throws IOException {
    text = Files.readString(COMPOSE_DIR.resolve("compose.yaml"), StandardCharsets.UTF_8);
    compose = new Yaml().load(text);
    services = (Map<String, Map<String, Object>>) compose.get("services");
  }

  @Test
  void everyServiceRunsAnImageWithAPinnedVersion() throws IOException {
    String projectVersion = projectVersion();
    services.forEach(
        (name, service) -> {
          String image = interpolate(String.valueOf(service.get("image")));
          String tag = tagOf(image);
          assertTrue(
              tag.matches("v?[0-9]+(\\.[0-9]+)*([.-][A-Za-z0-9.]+)?"),
              name + " runs " + image + ": pin a version tag");
          if (image.startsWith(TALLYHOUSE_IMAGES)) {
            assertEquals(
                projectVersion,
                tag,
                name + ": the Tallyhouse images' default tag is the build's version (pom.xml)");
          }
        });
    assertTrue(
        envExample().contains("TALLYHOUSE_VERSION=" + projectVersion + "\n"),
        ".env.example's TALLYHOUSE_VERSION is not the build's version " + projectVersion);
  }

  @Test
  @SuppressWarnings("unchecked")
  void theServicesHaveAHealthcheckOnTheirPortAndARestartPolicy() {
    for (String name : SERVICES) {
      Map<String, Object> service = services.get(name);
      assertTrue(service != null, "no service " + name);
      Map<String, Object> healthcheck = (Map<String, Object>) service.get("healthcheck");
      assertTrue(healthcheck != null, name + " has no healthcheck");
      String test = String.valueOf(healthcheck.get("test"));
      String port = environment(service).get("HTTP_PORT");
      assertTrue(
          test.contains("/" + port + " ") || test.contains(":" + port + "/"),
          name + "'s healthcheck does not ask its HTTP_PORT " + port + ": " + test);
      assertTrue(test.contains("/health/"), name + "'s healthcheck asks no /health route: " + test);
      assertEquals("unless-stopped", service.get("restart"), name + "'s restart policy");
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void theServicesStartOnlyAfterTheMigrationSucceeded() {
    for (String name : SERVICES) {
      Map<String, Object> dependsOn = (Map<String, Object>) services.get(name).get("depends_on");
      Map<String, Object> migrate =
          dependsOn == null ? null : (Map<String, Object>) dependsOn.get("migrate");
      assertTrue(
          migrate != null && "service_completed_successfully".equals(migrate.get("condition")),
          name + " does not wait for migrate to complete successfully: " + dependsOn);
    }
    Map<String, Object> migrate = services.get("migrate");
    assertTrue(
        String.valueOf(migrate.get("entrypoint")).contains("bin/tallyhouse")
            && String.valueOf(migrate.get("command")).contains("migrate"),
        "the migrate service does not run tallyhouse migrate: " + migrate);
    assertEquals("no", migrate.get("restart"), "migrate runs once");
    Map<String, Object> migrateNeeds = (Map<String, Object>) migrate.get("depends_on");
    assertEquals(
        Map.of("condition", "service_healthy"),
        migrateNeeds.get("clickhouse"),
        "migrate waits for a healthy ClickHouse");
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyNamedVolumeIsDeclaredAndEveryMountedFileIsInTheRepository() {
    Set<String> declared = ((Map<String, Object>) compose.get("volumes")).keySet();
    Set<String> used = new TreeSet<>();
    List<String> problems = new ArrayList<>();
    services.forEach(
        (name, service) -> {
          for (Object mount : (List<Object>) service.getOrDefault("volumes", List.of())) {
            String source = String.valueOf(mount).split(":")[0];
            if (source.startsWith(".") || source.startsWith("/")) {
              if (!Files.exists(COMPOSE_DIR.resolve(source))) {
                problems.add(name + " mounts " + source + ", which is not in the repository");
              }
            } else if (!declared.contains(source)) {
              problems.add(name + " mounts the undeclared volume " + source);
            } else {
              used.add(source);
            }
          }
        });
    assertEquals(List.of(), problems);
    assertEquals(new TreeSet<>(declared), used, "declared volumes no service mounts");
    assertTrue(
        mounts("usage-stream")
            .contains("stream-state:" + environment(services.get("usage-stream")).get("STATE_DIR")),
        "usage-stream's STATE_DIR is not on its volume");
    String keysDir =
        Path.of(environment(services.get("gateway-ingest")).get("KEYS_FILE"))
            .getParent()
            .toString();
    for (String keyReader : List.of("gateway-ingest", "activity-query")) {
      assertTrue(
          mounts(keyReader).contains("keys:" + keysDir + ":ro"),
          keyReader + " does not read the key file's volume at " + keysDir);
    }
    assertTrue(
        String.valueOf(services.get("keys").get("entrypoint"))
            .contains(environment(services.get("gateway-ingest")).get("KEYS_FILE")),
        "the keys tool writes another file than the services read");
  }

  @Test
  void everyVariableSetOnATallyhouseServiceIsOneThatServiceReads() {
    DeployedConfiguration configuration = new DeployedConfiguration();
    services.forEach(
        (name, service) -> {
          Map<String, String> env = environment(service);
          if (!String.valueOf(service.get("image")).startsWith(TALLYHOUSE_IMAGES)) {
            return;
          }
          String component = DeployedConfiguration.COMPONENTS.get(name);
          if (component == null) {
            assertEquals(Map.of(), env, name + " runs no component that reads variables");
          } else {
            configuration.add("compose service " + name, component, env);
          }
        });
    assertEquals(List.of(), configuration.problems());
  }

  @Test
  void everyVariableTheComposeFileTakesIsInTheEnvExample() throws IOException {
    String example = envExample();
    Matcher variable = VARIABLE.matcher(text);
    Set<String> missing = new TreeSet<>();
    while (variable.find()) {
      if (!example.contains("\n" + variable.group(1) + "=")) {
        missing.add(variable.group(1));
      }
    }
    assertEquals(Set.of(), missing, "variables compose.yaml takes that .env.example does not show");
  }

  @Test
  @SuppressWarnings("unchecked")
  void prometheusScrapesTheServicesWhereComposeRunsThem() throws IOException {
    Path prometheusYml = ROOT.resolve("deploy/monitoring/prometheus/prometheus.yml");
    Map<String, Object> prometheus =
        new Yaml().load(Files.readString(prometheusYml, StandardCharsets.UTF_8));
    Set<String> targets = new TreeSet<>();
    for (Map<String, Object> job : (List<Map<String, Object>>) prometheus.get("scrape_configs")) {
      for (Map<String, Object> staticConfig :
          (List<Map<String, Object>>) job.getOrDefault("static_configs", List.of())) {
        targets.addAll((List<String>) staticConfig.get("targets"));
      }
    }
    for (String name : SERVICES) {
      String target = name + ":" + environment(services.get(name)).get("HTTP_PORT");
      assertTrue(
          targets.contains(target), prometheusYml + " does not scrape " + target + ": " + targets);
    }
    for (String ruleFile : (List<String>) prometheus.getOrDefault("rule_files", List.of())) {
      assertTrue(
          mounts("prometheus").stream().anyMatch(mount -> mount.contains(":" + ruleFile + ":")),
          "prometheus.yml loads " + ruleFile + ", which compose does not mount");
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void grafanaIsProvisionedWithTheDashboardFromWhereComposeMountsIt() throws IOException {
    Path providers = ROOT.resolve("deploy/monitoring/grafana/provisioning/dashboards");
    String dashboardsMount =
        mounts("grafana").stream()
            .filter(mount -> mount.startsWith("../monitoring/grafana/dashboards:"))
            .map(mount -> mount.split(":")[1])
            .findFirst()
            .orElseThrow(() -> new AssertionError("grafana does not mount the dashboards"));
    List<String> paths = new ArrayList<>();
    try (var files = Files.list(providers)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yml")).toList()) {
        Map<String, Object> provisioning =
            new Yaml().load(Files.readString(file, StandardCharsets.UTF_8));
        for (Map<String, Object> provider :
            (List<Map<String, Object>>) provisioning.get("providers")) {
          paths.add(String.valueOf(((Map<String, Object>) provider.get("options")).get("path")));
        }
      }
    }
    // The provider reads exactly the mounted directory: a path beside or below it finds no
    // dashboard.
    assertTrue(
        paths.contains(dashboardsMount),
        "Grafana's dashboard providers read "
            + paths
            + ", compose mounts the dashboards at "
            + dashboardsMount);
    Path dashboard = ROOT.resolve("deploy/monitoring/grafana/dashboards/tallyhouse.json");
    assertTrue(Files.exists(dashboard), dashboard + " is missing");
    assertEquals(
        dashboardsMount + "/tallyhouse.json",
        environment(services.get("grafana")).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"),
        "Grafana's home dashboard");
    Path datasources = ROOT.resolve("deploy/monitoring/grafana/provisioning/datasources");
    try (var files = Files.list(datasources)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yml")).toList()) {
        Map<String, Object> provisioning =
            new Yaml().load(Files.readString(file, StandardCharsets.UTF_8));
        for (Map<String, Object> source :
            (List<Map<String, Object>>) provisioning.get("datasources")) {
          String host = URI.create(String.valueOf(source.get("url"))).getHost();
          assertTrue(
              services.containsKey(host),
              file + " points Grafana at " + host + ", which is no compose service");
        }
      }
    }
  }

  @Test
  void interpolationTakesDefaultsAndMarksTheValuesTheOperatorMustGive() {
    assertEquals("a-1.0", interpolate("a-${V:-1.0}"));
    assertEquals("-XX:X=1", interpolate("${OPTS:--XX:X=1}"));
    assertEquals("<SECRET>", interpolate("${SECRET:?set it}"));
    assertFalse(interpolate("x${A}y").contains("$"));
  }

  /** The service's environment with ${VAR} resolved as with an empty .env (see interpolate). */
  @SuppressWarnings("unchecked")
  private static Map<String, String> environment(Map<String, Object> service) {
    Object environment = service.get("environment");
    Map<String, String> env = new LinkedHashMap<>();
    if (environment instanceof Map<?, ?> map) {
      map.forEach((k, v) -> env.put(String.valueOf(k), interpolate(String.valueOf(v))));
    } else if (environment != null) {
      fail("write environment as a map: " + environment);
    }
    return env;
  }

  @SuppressWarnings("unchecked")
  private static List<String> mounts(String service) {
    return ((List<Object>) services.get(service).getOrDefault("volumes", List.of()))
        .stream().map(String::valueOf).toList();
  }

  /**
   * ${NAME:-default} and ${NAME-default} as their default; ${NAME}, ${NAME:?..} and ${NAME?..},
   * which the operator gives in .env, as the placeholder {@code <NAME>}.
   */
  static String interpolate(String value) {
    Matcher variable = VARIABLE.matcher(value);
    StringBuilder out = new StringBuilder();
    while (variable.find()) {
      String operator = variable.group(2);
      String replacement =
          operator != null && operator.endsWith("-")
              ? variable.group(3)
              : "<" + variable.group(1) + ">";
      variable.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    variable.appendTail(out);
    return out.toString().replace("$$", "$");
  }

  private static String tagOf(String image) {
    int slash = image.lastIndexOf('/');
    int colon = image.lastIndexOf(':');
    return colon > slash ? image.substring(colon + 1) : "";
  }

  private static String envExample() throws IOException {
    return "\n" + Files.readString(COMPOSE_DIR.resolve(".env.example"), StandardCharsets.UTF_8);
  }

  /** The parent pom's version: the version the Tallyhouse images of this build carry. */
  static String projectVersion() throws IOException {
    String pom = Files.readString(ROOT.resolve("pom.xml"), StandardCharsets.UTF_8);
    Matcher version =
        Pattern.compile("<artifactId>tallyhouse-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(pom);
    assertTrue(version.find(), "no version in pom.xml");
    return version.group(1);
  }
}
