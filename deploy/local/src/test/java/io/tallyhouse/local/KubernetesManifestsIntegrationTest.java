package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBuilder;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.Endpoint;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.Yaml;

/**
 * deploy/k8s rendered by a real kustomize ({@code kubectl kustomize}, installed by
 * scripts/ensure-kubectl.sh through {@code make deps}; KUBECTL names another), every document
 * loaded into fabric8's typed Kubernetes model refusing unknown fields, then checked: probes,
 * resources and security contexts of the workloads, what PDBs, HPAs, Services and ServiceMonitors
 * point at, the Secrets and ConfigMaps the pods reference, and every container's environment
 * against what its component reads (the configuration reference's rule, as for compose).
 */
class KubernetesManifestsIntegrationTest {

  private static final Path ROOT = Path.of("..", "..");
  private static final Path K8S = ROOT.resolve("deploy/k8s");
  private static final String PRODUCTION = "overlays/production";

  /** The kinds the manifests may hold, each with its typed model. */
  private static final Map<String, Class<? extends HasMetadata>> KINDS =
      Map.of(
          "v1/ConfigMap", ConfigMap.class,
          "v1/Secret", Secret.class,
          "v1/Service", Service.class,
          "apps/v1/Deployment", Deployment.class,
          "apps/v1/StatefulSet", StatefulSet.class,
          "batch/v1/Job", Job.class,
          "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
          "autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class,
          "monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class);

  /**
   * fabric8's model keeps unknown fields in {@code additionalProperties} (its any-setter); without
   * it, FAIL_ON_UNKNOWN_PROPERTIES makes a misspelled or misplaced field an error.
   */
  private static final ObjectMapper STRICT =
      new ObjectMapper()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .registerModule(
              new SimpleModule()
                  .setDeserializerModifier(
                      new BeanDeserializerModifier() {
                        @Override
                        public BeanDeserializerBuilder updateBuilder(
                            DeserializationConfig config,
                            BeanDescription description,
                            BeanDeserializerBuilder builder) {
                          builder.setAnySetter(null);
                          builder.setIgnoreUnknownProperties(false);
                          return builder;
                        }
                      }));

  private static final Map<String, List<HasMetadata>> RENDERED = new LinkedHashMap<>();

  @BeforeAll
  static void render(@TempDir Path work) throws IOException, InterruptedException {
    // The production overlay reads its secrets from files never committed: render a copy with the
    // examples.
    Path copy = work.resolve("k8s");
    try (Stream<Path> files = Files.walk(K8S)) {
      for (Path source : files.toList()) {
        Path target = copy.resolve(K8S.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
          if (source.toString().endsWith(".example")) {
            Path secret = Path.of(target.toString().replaceFirst("\\.example$", ""));
            Files.copy(source, secret, StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
    }
    for (String target : List.of("base", PRODUCTION)) {
      RENDERED.put(target, load(kustomize(copy.resolve(target))));
    }
  }

  @Test
  void everyManifestFileLoadsIntoTheTypedModel() throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(K8S)) {
      files =
          walk.filter(f -> f.toString().endsWith(".yaml"))
              .filter(f -> !f.getFileName().toString().equals("kustomization.yaml"))
              .toList();
    }
    assertTrue(files.size() >= 9, "manifest files: " + files);
    for (Path file : files) {
      assertFalse(
          load(Files.readString(file, StandardCharsets.UTF_8)).isEmpty(), file + " is empty");
    }
  }

  @Test
  void aMisspelledFieldIsRefused() {
    String misspelled =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
            + "spec:\n  template:\n    spec:\n      containers:\n        - name: x\n"
            + "          readinesProbe: {httpGet: {path: /health/ready, port: 8080}}\n";
    IllegalArgumentException refused =
        assertThrows(IllegalArgumentException.class, () -> load(misspelled));
    assertTrue(refused.getMessage().contains("readinesProbe"), refused.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", PRODUCTION})
  void theRenderingHoldsEveryPart(String target) {
    List<HasMetadata> objects = RENDERED.get(target);
    assertEquals(2, named(objects, Deployment.class).size(), "Deployments");
    assertEquals(1, named(objects, StatefulSet.class).size(), "StatefulSets");
    assertEquals(1, named(objects, Job.class).size(), "Jobs");
    assertEquals(3, named(objects, ServiceMonitor.class).size(), "ServiceMonitors");
    assertEquals(3, named(objects, PodDisruptionBudget.class).size(), "PodDisruptionBudgets");
    assertEquals(
        2, named(objects, HorizontalPodAutoscaler.class).size(), "HorizontalPodAutoscalers");
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", PRODUCTION})
  void everyContainerHasProbesResourcesAndARestrictedSecurityContext(String target) {
    List<String> problems = new ArrayList<>();
    workloads(RENDERED.get(target))
        .forEach(
            (name, pod) -> {
              var podSecurity = pod.getSpec().getSecurityContext();
              if (podSecurity == null
                  || !Boolean.TRUE.equals(podSecurity.getRunAsNonRoot())
                  || !Long.valueOf(10001).equals(podSecurity.getRunAsUser())) {
                problems.add(name + ": the pod does not run as the images' non-root uid 10001");
              }
              for (Container container : pod.getSpec().getContainers()) {
                String where = name + "/" + container.getName();
                var security = container.getSecurityContext();
                if (security == null
                    || !Boolean.FALSE.equals(security.getAllowPrivilegeEscalation())
                    || !Boolean.TRUE.equals(security.getReadOnlyRootFilesystem())
                    || security.getCapabilities() == null
                    || !List.of("ALL").equals(security.getCapabilities().getDrop())) {
                  problems.add(
                      where + ": no privilege escalation, a read-only root and no capabilities");
                }
                var resources = container.getResources();
                if (resources == null
                    || resources.getRequests() == null
                    || !resources.getRequests().keySet().containsAll(Set.of("cpu", "memory"))
                    || resources.getLimits() == null
                    || !resources.getLimits().containsKey("memory")) {
                  problems.add(where + ": requests cpu and memory, and a memory limit");
                }
                if (!pod.getSpec().getVolumes().stream().anyMatch(v -> v.getEmptyDir() != null)) {
                  problems.add(where + ": a read-only root needs a writable /tmp");
                }
                if (name.startsWith("Job/")) {
                  continue;
                }
                checkProbe(
                    problems,
                    where,
                    "startup",
                    container.getStartupProbe(),
                    "/health/live",
                    container);
                checkProbe(
                    problems,
                    where,
                    "readiness",
                    container.getReadinessProbe(),
                    "/health/ready",
                    container);
                checkProbe(
                    problems,
                    where,
                    "liveness",
                    container.getLivenessProbe(),
                    "/health/live",
                    container);
              }
            });
    assertEquals(List.of(), problems);
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", PRODUCTION})
  void disruptionBudgetsAutoscalersServicesAndMonitorsPointAtExistingWorkloads(String target) {
    List<HasMetadata> objects = RENDERED.get(target);
    Map<String, PodTemplateSpec> workloads = workloads(objects);
    List<String> problems = new ArrayList<>();
    for (PodDisruptionBudget pdb : named(objects, PodDisruptionBudget.class).values()) {
      if (matching(workloads, pdb.getSpec().getSelector().getMatchLabels()).isEmpty()) {
        problems.add("PodDisruptionBudget " + name(pdb) + " selects no pods");
      }
    }
    for (HorizontalPodAutoscaler hpa : named(objects, HorizontalPodAutoscaler.class).values()) {
      var ref = hpa.getSpec().getScaleTargetRef();
      if (!workloads.containsKey(ref.getKind() + "/" + ref.getName())) {
        problems.add("HorizontalPodAutoscaler " + name(hpa) + " scales no workload: " + ref);
      }
      if (hpa.getSpec().getMinReplicas() > hpa.getSpec().getMaxReplicas()) {
        problems.add("HorizontalPodAutoscaler " + name(hpa) + ": minReplicas above maxReplicas");
      }
    }
    for (Deployment deployment : named(objects, Deployment.class).values()) {
      Map<String, String> labels = deployment.getSpec().getTemplate().getMetadata().getLabels();
      if (named(objects, PodDisruptionBudget.class).values().stream()
          .noneMatch(pdb -> selects(pdb.getSpec().getSelector().getMatchLabels(), labels))) {
        problems.add("Deployment " + name(deployment) + " has no PodDisruptionBudget");
      }
      if (named(objects, HorizontalPodAutoscaler.class).values().stream()
          .noneMatch(hpa -> hpa.getSpec().getScaleTargetRef().getName().equals(name(deployment)))) {
        problems.add("Deployment " + name(deployment) + " has no HorizontalPodAutoscaler");
      }
    }
    Map<String, Service> services = named(objects, Service.class);
    for (Service service : services.values()) {
      List<PodTemplateSpec> pods = matching(workloads, service.getSpec().getSelector());
      if (pods.isEmpty()) {
        problems.add("Service " + name(service) + " selects no pods");
      }
      for (ServicePort port : service.getSpec().getPorts()) {
        for (PodTemplateSpec pod : pods) {
          if (pod.getSpec().getContainers().stream()
              .noneMatch(c -> hasPort(c, port.getTargetPort()))) {
            problems.add("Service " + name(service) + " targets a port its pods lack: " + port);
          }
        }
      }
    }
    for (StatefulSet statefulSet : named(objects, StatefulSet.class).values()) {
      Service governing = services.get(statefulSet.getSpec().getServiceName());
      if (governing == null || !"None".equals(governing.getSpec().getClusterIP())) {
        problems.add("StatefulSet " + name(statefulSet) + " has no headless Service");
      }
    }
    for (ServiceMonitor monitor : named(objects, ServiceMonitor.class).values()) {
      List<Service> selected =
          services.values().stream()
              .filter(
                  s ->
                      selects(
                          monitor.getSpec().getSelector().getMatchLabels(),
                          s.getMetadata().getLabels()))
              .toList();
      if (selected.size() != 1) {
        problems.add(
            "ServiceMonitor " + name(monitor) + " selects " + selected.size() + " Services");
      }
      for (Endpoint endpoint : monitor.getSpec().getEndpoints()) {
        boolean portExists =
            selected.stream()
                .flatMap(s -> s.getSpec().getPorts().stream())
                .anyMatch(p -> Objects.equals(p.getName(), endpoint.getPort()));
        if (!portExists || !"/metrics".equals(endpoint.getPath())) {
          problems.add(
              "ServiceMonitor "
                  + name(monitor)
                  + " scrapes no /metrics port: "
                  + endpoint.getPort());
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", PRODUCTION})
  void everySecretAndConfigMapAPodReferencesExists(String target) {
    List<HasMetadata> objects = RENDERED.get(target);
    Map<String, ConfigMap> configMaps = named(objects, ConfigMap.class);
    Map<String, Secret> secrets = named(objects, Secret.class);
    List<String> problems = new ArrayList<>();
    workloads(objects)
        .forEach(
            (name, pod) -> {
              for (Volume volume : pod.getSpec().getVolumes()) {
                if (volume.getSecret() != null
                    && !secrets.containsKey(volume.getSecret().getSecretName())) {
                  problems.add(
                      name + " mounts the missing Secret " + volume.getSecret().getSecretName());
                }
                if (volume.getConfigMap() != null
                    && !configMaps.containsKey(volume.getConfigMap().getName())) {
                  problems.add(
                      name + " mounts the missing ConfigMap " + volume.getConfigMap().getName());
                }
              }
              for (Container container : pod.getSpec().getContainers()) {
                try {
                  environment(container, configMaps, secrets);
                } catch (IllegalStateException missing) {
                  problems.add(name + "/" + container.getName() + ": " + missing.getMessage());
                }
              }
            });
    assertEquals(List.of(), problems);
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", PRODUCTION})
  void everyContainerVariableIsOneItsComponentReads(String target) {
    List<HasMetadata> objects = RENDERED.get(target);
    Map<String, ConfigMap> configMaps = named(objects, ConfigMap.class);
    Map<String, Secret> secrets = named(objects, Secret.class);
    DeployedConfiguration configuration = new DeployedConfiguration();
    workloads(objects)
        .forEach(
            (name, pod) -> {
              for (Container container : pod.getSpec().getContainers()) {
                String component = DeployedConfiguration.COMPONENTS.get(container.getName());
                assertTrue(
                    component != null, name + " runs the unknown container " + container.getName());
                configuration.add(
                    target + " " + name, component, environment(container, configMaps, secrets));
              }
            });
    assertEquals(List.of(), configuration.problems());
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", PRODUCTION})
  void theStreamKeepsItsStoresOnItsVolumeWithStandbyReplicas(String target) {
    List<HasMetadata> objects = RENDERED.get(target);
    StatefulSet stream = named(objects, StatefulSet.class).get("usage-stream");
    Container container = stream.getSpec().getTemplate().getSpec().getContainers().get(0);
    Map<String, String> env =
        environment(container, named(objects, ConfigMap.class), named(objects, Secret.class));
    String claim = stream.getSpec().getVolumeClaimTemplates().get(0).getMetadata().getName();
    assertTrue(
        container.getVolumeMounts().stream()
            .anyMatch(
                m -> m.getName().equals(claim) && m.getMountPath().equals(env.get("STATE_DIR"))),
        "STATE_DIR " + env.get("STATE_DIR") + " is not on the claim " + claim);
    assertTrue(
        Integer.parseInt(env.getOrDefault("KAFKA_STREAMS_NUM_STANDBY_REPLICAS", "0")) >= 1,
        "no standby replicas");
  }

  /**
   * The upgrade's first step (README.md, "Upgrade") applies what carries the component label config
   * or migrate: the Job and everything its pod reads must be among it, the services not.
   */
  @ParameterizedTest
  @ValueSource(strings = {"base", PRODUCTION})
  void theMigrationStepAppliesTheJobWithEverythingItReadsAndNoService(String target) {
    List<HasMetadata> objects = RENDERED.get(target);
    Set<String> firstStep = Set.of("config", "migrate");
    List<String> problems = new ArrayList<>();
    for (HasMetadata object : objects) {
      Map<String, String> labels = object.getMetadata().getLabels();
      String component = labels == null ? null : labels.get("app.kubernetes.io/component");
      boolean expected =
          object instanceof ConfigMap || object instanceof Secret || object instanceof Job;
      if (expected != (component != null && firstStep.contains(component))) {
        problems.add(
            object.getKind()
                + " "
                + name(object)
                + (expected ? " is missing from" : " is in")
                + " the migration step (component "
                + component
                + ")");
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void productionSpreadsEveryServiceOverNodesAndPinsItsImages() {
    List<HasMetadata> objects = RENDERED.get(PRODUCTION);
    workloads(objects)
        .forEach(
            (name, pod) -> {
              PodSpec spec = pod.getSpec();
              for (Container container : spec.getContainers()) {
                assertFalse(
                    container.getImage().endsWith("-SNAPSHOT")
                        || !container.getImage().contains(":"),
                    name + " runs " + container.getImage() + ": pin a released version");
              }
              if (name.startsWith("Job/")) {
                return;
              }
              var antiAffinity =
                  spec.getAffinity() == null ? null : spec.getAffinity().getPodAntiAffinity();
              assertTrue(
                  antiAffinity != null
                      && (!antiAffinity
                              .getRequiredDuringSchedulingIgnoredDuringExecution()
                              .isEmpty()
                          || !antiAffinity
                              .getPreferredDuringSchedulingIgnoredDuringExecution()
                              .isEmpty()),
                  name + " has no anti-affinity");
            });
    for (HasMetadata object : objects) {
      assertEquals(
          "tallyhouse", object.getMetadata().getNamespace(), name(object) + "'s namespace");
    }
  }

  private static void checkProbe(
      List<String> problems,
      String where,
      String kind,
      Probe probe,
      String path,
      Container container) {
    if (probe == null || probe.getHttpGet() == null) {
      problems.add(where + ": no " + kind + " probe");
    } else if (!path.equals(probe.getHttpGet().getPath())
        || !hasPort(container, probe.getHttpGet().getPort())) {
      problems.add(
          where + ": the " + kind + " probe should ask " + path + " on a port of the container");
    }
  }

  private static boolean hasPort(Container container, IntOrString port) {
    for (ContainerPort p : container.getPorts()) {
      if (port.getIntVal() != null
          ? port.getIntVal().equals(p.getContainerPort())
          : port.getStrVal().equals(p.getName())) {
        return true;
      }
    }
    return false;
  }

  /**
   * The container's environment as it will see it: envFrom ConfigMaps and Secrets, then env (values
   * and references), each reference resolved; a missing ConfigMap, Secret or key is an
   * IllegalStateException naming it.
   */
  private static Map<String, String> environment(
      Container container, Map<String, ConfigMap> configMaps, Map<String, Secret> secrets) {
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvFromSource from : container.getEnvFrom()) {
      if (from.getConfigMapRef() != null) {
        env.putAll(configMap(configMaps, from.getConfigMapRef().getName()).getData());
      }
      if (from.getSecretRef() != null) {
        secretData(secret(secrets, from.getSecretRef().getName())).forEach(env::put);
      }
    }
    for (EnvVar variable : container.getEnv()) {
      String value = variable.getValue();
      if (variable.getValueFrom() != null && variable.getValueFrom().getSecretKeyRef() != null) {
        var ref = variable.getValueFrom().getSecretKeyRef();
        value = secretData(secret(secrets, ref.getName())).get(ref.getKey());
        if (value == null) {
          throw new IllegalStateException(
              "Secret " + ref.getName() + " has no key " + ref.getKey());
        }
      } else if (variable.getValueFrom() != null
          && variable.getValueFrom().getConfigMapKeyRef() != null) {
        var ref = variable.getValueFrom().getConfigMapKeyRef();
        value = configMap(configMaps, ref.getName()).getData().get(ref.getKey());
        if (value == null) {
          throw new IllegalStateException(
              "ConfigMap " + ref.getName() + " has no key " + ref.getKey());
        }
      }
      env.put(variable.getName(), Objects.requireNonNullElse(value, ""));
    }
    return env;
  }

  private static ConfigMap configMap(Map<String, ConfigMap> configMaps, String name) {
    ConfigMap configMap = configMaps.get(name);
    if (configMap == null) {
      throw new IllegalStateException("no ConfigMap " + name);
    }
    return configMap;
  }

  private static Secret secret(Map<String, Secret> secrets, String name) {
    Secret secret = secrets.get(name);
    if (secret == null) {
      throw new IllegalStateException("no Secret " + name);
    }
    return secret;
  }

  private static Map<String, String> secretData(Secret secret) {
    Map<String, String> data = new LinkedHashMap<>();
    if (secret.getData() != null) {
      secret
          .getData()
          .forEach(
              (k, v) ->
                  data.put(
                      k, new String(Base64.getMimeDecoder().decode(v), StandardCharsets.UTF_8)));
    }
    if (secret.getStringData() != null) {
      data.putAll(secret.getStringData());
    }
    return data;
  }

  /** Every pod template, keyed by its workload's kind and name. */
  private static Map<String, PodTemplateSpec> workloads(List<HasMetadata> objects) {
    Map<String, PodTemplateSpec> workloads = new LinkedHashMap<>();
    named(objects, Deployment.class)
        .forEach((name, d) -> workloads.put("Deployment/" + name, d.getSpec().getTemplate()));
    named(objects, StatefulSet.class)
        .forEach((name, s) -> workloads.put("StatefulSet/" + name, s.getSpec().getTemplate()));
    named(objects, Job.class)
        .forEach((name, j) -> workloads.put("Job/" + name, j.getSpec().getTemplate()));
    return workloads;
  }

  private static List<PodTemplateSpec> matching(
      Map<String, PodTemplateSpec> workloads, Map<String, String> selector) {
    return workloads.values().stream()
        .filter(pod -> selects(selector, pod.getMetadata().getLabels()))
        .toList();
  }

  private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    return selector != null
        && !selector.isEmpty()
        && labels != null
        && labels.entrySet().containsAll(selector.entrySet());
  }

  private static <T extends HasMetadata> Map<String, T> named(
      List<HasMetadata> objects, Class<T> kind) {
    Map<String, T> named = new LinkedHashMap<>();
    for (HasMetadata object : objects) {
      if (kind.isInstance(object)) {
        named.put(name(object), kind.cast(object));
      }
    }
    return named;
  }

  private static String name(HasMetadata object) {
    return object.getMetadata().getName();
  }

  /**
   * Every YAML document of {@code text} in its typed model; an unknown kind or field is refused.
   */
  private static List<HasMetadata> load(String text) {
    List<HasMetadata> objects = new ArrayList<>();
    for (Object document : new Yaml().loadAll(text)) {
      if (document == null) {
        continue;
      }
      Map<?, ?> map = (Map<?, ?>) document;
      String kind = map.get("apiVersion") + "/" + map.get("kind");
      Class<? extends HasMetadata> type = KINDS.get(kind);
      if (type == null) {
        throw new IllegalArgumentException("a kind the manifests may not hold: " + kind);
      }
      objects.add(STRICT.convertValue(map, type));
    }
    return objects;
  }

  /** {@code kubectl kustomize dir}'s output; its errors fail the test with kustomize's words. */
  private static String kustomize(Path dir) throws IOException, InterruptedException {
    String kubectl = System.getenv().getOrDefault("KUBECTL", "kubectl");
    Path errors = Files.createTempFile("kustomize", ".err");
    try {
      Process process;
      try {
        process =
            new ProcessBuilder(kubectl, "kustomize", dir.toString())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectError(errors.toFile())
                .start();
      } catch (IOException e) {
        throw new UncheckedIOException(
            kubectl + " cannot be run: `make deps` installs it (scripts/ensure-kubectl.sh)", e);
      }
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(process.waitFor(2, TimeUnit.MINUTES), "kubectl kustomize did not finish");
      assertEquals(
          0,
          process.exitValue(),
          () -> "kubectl kustomize " + dir + " failed:\n" + readQuietly(errors));
      return out;
    } finally {
      Files.deleteIfExists(errors);
    }
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
