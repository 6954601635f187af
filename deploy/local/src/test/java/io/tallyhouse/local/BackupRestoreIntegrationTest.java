package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.local.ExpectedActivity.SentEvent;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.Ports;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.TallyhouseCli;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/BACKUP.md's procedure for a ClickHouse without BACKUP (the 18.16 server here): FREEZE
 * every table, copy the frozen parts away, lose the database, {@code tallyhouse migrate}, put the
 * parts in each table's {@code detached/} and ATTACH their partitions. The restored database holds
 * the same rows and {@code tallyhouse reconcile} passes.
 */
class BackupRestoreIntegrationTest {

  private static final String ACCOUNT = "acme";

  @Test
  void frozenPartsAttachedToAFreshSchemaGiveBackTheSameTotals(@TempDir Path dir) throws Exception {
    ClickHouseServer server =
        ClickHouseServer.start(dir.resolve("clickhouse"), Ports.freePort(), Ports.freePort());
    try {
      String name = "backup_" + Long.toHexString(System.currentTimeMillis());
      Map<String, String> env = new LinkedHashMap<>();
      env.put("CLICKHOUSE_URL", server.httpUrl());
      LocalDate today = LocalDate.now(ZoneOffset.UTC);
      try (Pipeline pipeline = new Pipeline(name, Clock.systemUTC(), env)) {
        env = Pipeline.environment(name, dir, env);
        List<SentEvent> sent = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
          sent.add(event("evt-" + i, today.minusDays(1 + i % 4), i));
        }
        assertEquals(202, pipeline.post(pipeline.newIngestToken(), body(sent)).statusCode());
        assertEquals(30, pipeline.awaitCountedRequests(30));
      }
      Path data = dir.resolve("clickhouse/data");
      Path backup = dir.resolve("backup");

      try (ClickHouse clickHouse =
          new ClickHouse(ServiceMain.read(env, PipelineSettings::clickHouse))) {
        Map<String, String> before = snapshot(clickHouse);
        freezeAndCopy(clickHouse, data, backup);

        // The loss: the whole database.
        clickHouse.executeOutsideDatabase("DROP DATABASE " + clickHouse.database());
        assertEquals(ExitCodes.OK, tallyhouse(env, "migrate"));
        attachFromBackup(clickHouse, data, backup);

        assertEquals(before, snapshot(clickHouse));
      }
      assertEquals(
          ExitCodes.OK,
          tallyhouse(
              env, "reconcile", "--from", today.minusDays(5).toString(), "--to", today.toString()));
    } finally {
      server.stop();
    }
  }

  /**
   * BACKUP.md, "Back up": FREEZE each table of the database (hard links of its parts under {@code
   * shadow/}), copy the parts out per table, then empty {@code shadow/}.
   */
  private static void freezeAndCopy(ClickHouse clickHouse, Path data, Path backup)
      throws IOException {
    for (String table : mergeTreeTables(clickHouse)) {
      clickHouse.execute("ALTER TABLE " + table + " FREEZE");
    }
    try (Stream<Path> increments = Files.list(data.resolve("shadow"))) {
      for (Path increment : increments.filter(Files::isDirectory).toList()) {
        Path frozen = increment.resolve("data").resolve(clickHouse.database());
        if (Files.isDirectory(frozen)) {
          copyTree(frozen, backup);
        }
      }
    }
    deleteTree(data.resolve("shadow"));
  }

  /**
   * BACKUP.md, "Restore" after {@code tallyhouse migrate}: each table's parts (but those of {@code
   * schema_migrations}, which migrate wrote) into its {@code detached/}, then ATTACH every
   * partition they belong to.
   */
  private static void attachFromBackup(ClickHouse clickHouse, Path data, Path backup)
      throws IOException {
    try (Stream<Path> tables = Files.list(backup)) {
      for (Path saved : tables.sorted().toList()) {
        String table = saved.getFileName().toString();
        if (table.equals("schema_migrations")) {
          continue;
        }
        Path detached = data.resolve("data").resolve(clickHouse.database()).resolve(table);
        copyTree(saved, detached.resolve("detached"));
        TreeSet<String> partitions = new TreeSet<>();
        try (Stream<Path> parts = Files.list(saved)) {
          // A part's name is <partition id>_<min block>_<max block>_<level>.
          parts.forEach(p -> partitions.add(p.getFileName().toString().split("_")[0]));
        }
        for (String partition : partitions) {
          clickHouse.execute(
              "ALTER TABLE " + table + " ATTACH PARTITION ID " + SqlLiteral.string(partition));
        }
      }
    }
  }

  private static List<String> mergeTreeTables(ClickHouse clickHouse) {
    List<String> tables = new ArrayList<>();
    clickHouse
        .querySystem(
            "SELECT name FROM system.tables WHERE database = "
                + SqlLiteral.string(clickHouse.database())
                + " AND engine LIKE '%MergeTree' ORDER BY name")
        .forEach(row -> tables.add(row.get("name").asText()));
    return tables;
  }

  /** What the pipeline wrote, table by table, as text that compares exactly. */
  private static Map<String, String> snapshot(ClickHouse clickHouse) {
    Map<String, String> rows = new LinkedHashMap<>();
    rows.put(
        "usage_daily",
        text(
            clickHouse,
            "SELECT date, user_id, sum(requests), toString(sum(usage)), max(version)"
                + " FROM usage_daily FINAL GROUP BY date, user_id ORDER BY date, user_id"));
    rows.put(
        "usage_events",
        text(
            clickHouse,
            "SELECT count(), toString(sum(cost)), groupArray(event_id) FROM"
                + " (SELECT event_id, cost FROM usage_events FINAL ORDER BY event_id)"));
    rows.put(
        "usage_daily_changes",
        text(
            clickHouse,
            "SELECT date, sum(inserts) FROM usage_daily_changes GROUP BY date ORDER BY date"));
    rows.put(
        "api_key_hashes", text(clickHouse, "SELECT DISTINCT * FROM api_key_hashes ORDER BY 1, 2"));
    rows.put(
        "stream_generations",
        text(
            clickHouse,
            "SELECT kafka_cluster_id, changelog_topic_id, application_id, rollups_topic,"
                + " shard_base, partitions, registered_at FROM stream_generations ORDER BY shard_base"));
    rows.put(
        "schema_migrations",
        text(clickHouse, "SELECT version, name FROM schema_migrations ORDER BY version"));
    rows.values().forEach(text -> assertTrue(!text.isBlank(), "an empty table in " + rows));
    return rows;
  }

  private static String text(ClickHouse clickHouse, String sql) {
    return new String(clickHouse.queryTabSeparated(sql), StandardCharsets.UTF_8);
  }

  private static int tallyhouse(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        TallyhouseCli.run(
            args, env, Clock.systemUTC(), new PrintStream(out, true), new PrintStream(out, true));
    if (code != ExitCodes.OK) {
      System.err.println(out.toString(StandardCharsets.UTF_8));
    }
    return code;
  }

  private static SentEvent event(String id, LocalDate day, int n) {
    return new SentEvent(
        id,
        ACCOUNT,
        Secrets.sha256Hex("backup-key-" + n % 2),
        n % 3 == 0 ? null : "user-" + n % 3,
        "openai/gpt-4o",
        "openai/gpt-4o",
        "OpenAI",
        "OpenAI/openai/gpt-4o",
        day.atStartOfDay(ZoneOffset.UTC).toInstant().plusSeconds(97L * n),
        100 + n,
        10 + n,
        0,
        0,
        new BigDecimal("0.000000123456").multiply(BigDecimal.valueOf(n + 1)),
        false,
        BigDecimal.ZERO,
        null);
  }

  private static String body(List<SentEvent> events) throws IOException {
    return ExpectedActivity.requestBody(events);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : paths.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
