package io.tallyhouse.common.clickhouse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The numbered migration files on the classpath, and applying what a database lacks of them, each
 * at most once, recorded in {@code schema_migrations} (version, name, applied_at, and the layout's
 * cluster: empty for a single node). Only {@code tallyhouse migrate} and test fixtures apply them;
 * the services check the recorded version ({@link SchemaVersion}).
 *
 * <p>The folder holds an {@code index.txt} listing the files ({@code 001_usage_daily.sql}, ...),
 * because a folder inside a jar cannot be listed reliably. The files are written for a single node;
 * the cluster layout derives its statements from them ({@link ClusterDdl}).
 *
 * <p>A migration is recorded once all its statements ran, so one interrupted half-way runs again
 * from its first statement: every statement must be safe to repeat. CREATE statements say {@code IF
 * NOT EXISTS}. ClickHouse 18.16 has no {@code ADD COLUMN IF NOT EXISTS}, so an {@code ALTER TABLE t
 * ADD COLUMN c ...} is skipped here when {@code t} already has every column it adds ({@link
 * AddedColumns}): its other clauses (e.g. {@code MODIFY ORDER BY}) ran with it, as one ALTER. A
 * statement 18.16 cannot run {@code ON CLUSTER} runs on one node of every shard ({@link
 * ShardNodes}). An {@code INSERT ... SELECT} must insert rows that collapse with the copies a
 * repetition adds (a ReplacingMergeTree with them in its sorting key).
 */
public final class Migrations {

  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);

  /** The classpath folder of the Tallyhouse tables' migrations (in the schemas module). */
  public static final String TALLYHOUSE_TABLES = "clickhouse/migrations";

  /** The table recording the migrations applied (kept readable by the builds before layouts). */
  static final String TABLE = "schema_migrations";

  private static final String CREATE_TABLE =
      "CREATE TABLE IF NOT EXISTS "
          + TABLE
          + " (version UInt32, name String, applied_at DateTime DEFAULT now(),"
          + " cluster String DEFAULT '') ENGINE = MergeTree ORDER BY version";

  /** One migration file: its number, its file name and its single-node statements. */
  public record Migration(int version, String name, List<String> statements) {}

  /**
   * What a database needs to reach this build's schema in {@code layout}: the statements that
   * prepare it (database, {@code schema_migrations}) and the migrations it has not applied.
   */
  public record Plan(
      SchemaLayout layout, List<String> preparation, List<Migration> missing, int clusterNodes) {

    /** Whether nothing is to be done. */
    public boolean empty() {
      return preparation.isEmpty() && missing.isEmpty();
    }
  }

  private Migrations() {}

  /** The Tallyhouse tables' migrations of this build, in order. */
  public static List<Migration> tallyhouseTables() {
    return of(TALLYHOUSE_TABLES);
  }

  /** The migrations in {@code classpathFolder}, in the order of its index. */
  public static List<Migration> of(String classpathFolder) {
    List<Migration> result = new ArrayList<>();
    for (String file :
        resource(classpathFolder + "/index.txt")
            .lines()
            .map(String::trim)
            .filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .toList()) {
      result.add(
          new Migration(versionOf(file), file, statements(resource(classpathFolder + "/" + file))));
    }
    return result;
  }

  /**
   * Brings the database of {@code config} to this build's single-node schema; returns the names
   * applied now. The one way test fixtures prepare a fresh database before starting a service.
   */
  public static List<String> apply(ClickHouseConfig config) {
    try (ClickHouse clickHouse = new ClickHouse(config)) {
      return apply(clickHouse);
    }
  }

  /** As {@link #apply(ClickHouseConfig)}, through an open client. */
  public static List<String> apply(ClickHouse clickHouse) {
    return apply(clickHouse, plan(clickHouse, SchemaLayout.SINGLE_NODE, tallyhouseTables()));
  }

  /**
   * What {@code clickHouse}'s database lacks of {@code migrations} in {@code layout}; writes
   * nothing. Refuses (IllegalStateException) a database recorded in another layout, and a cluster
   * the server does not know.
   */
  public static Plan plan(ClickHouse clickHouse, SchemaLayout layout, List<Migration> migrations) {
    String database = clickHouse.database();
    int nodes = 1;
    if (layout.isCluster()) {
      nodes =
          clickHouse
              .querySystem(
                  "SELECT count() AS nodes FROM system.clusters WHERE cluster = "
                      + SqlLiteral.string(layout.cluster()))
              .get(0)
              .get("nodes")
              .asInt();
      if (nodes == 0) {
        throw new IllegalStateException(
            "the ClickHouse server at "
                + clickHouse.config().url()
                + " knows no cluster named "
                + layout.cluster()
                + " (its remote_servers configuration names the clusters)");
      }
    }
    SchemaState state = SchemaState.read(clickHouse);
    state.layout().ifPresent(recorded -> refuseOtherLayout(database, recorded, layout));
    List<String> preparation = new ArrayList<>();
    if (!state.databaseExists()) {
      preparation.add("CREATE DATABASE IF NOT EXISTS " + database + layout.onCluster());
    }
    if (!state.tableExists()) {
      preparation.add(
          layout.isCluster()
              ? new ClusterDdl(layout.cluster(), database).of(CREATE_TABLE).get(0)
              : CREATE_TABLE);
    } else if (!state.clusterColumn()) {
      // A database migrated by a build before layouts existed: a single node by construction.
      preparation.add("ALTER TABLE " + TABLE + " ADD COLUMN cluster String DEFAULT ''");
    }
    List<Migration> missing = new ArrayList<>();
    ClusterDdl clusterDdl = layout.isCluster() ? new ClusterDdl(layout.cluster(), database) : null;
    for (Migration migration : migrations) {
      List<String> statements = new ArrayList<>();
      for (String statement : migration.statements()) {
        // Derived for every migration, applied or not: the cluster form of a later one depends on
        // the tables the earlier ones created.
        statements.addAll(clusterDdl == null ? List.of(statement) : clusterDdl.of(statement));
      }
      if (!state.applied().containsKey(migration.version())) {
        missing.add(new Migration(migration.version(), migration.name(), statements));
      }
    }
    return new Plan(layout, preparation, missing, nodes);
  }

  /**
   * Runs {@code plan}; returns the names of the migrations applied. A statement for one node of
   * every shard ({@link ClusterDdl#onEveryShard}) runs on the first replica of each shard, reached
   * at the host {@code system.clusters} names and the scheme and port of {@code clickHouse}'s URL.
   */
  public static List<String> apply(ClickHouse clickHouse, Plan plan) {
    return apply(clickHouse, plan, List.of());
  }

  /**
   * As {@link #apply(ClickHouse, Plan)}, with {@code shardUrls} the HTTP URLs of one node of every
   * shard (when the nodes do not all listen on the entry node's port). Refuses
   * (IllegalStateException), before changing anything, nodes that are not one of every shard.
   */
  public static List<String> apply(ClickHouse clickHouse, Plan plan, List<String> shardUrls) {
    boolean perShard =
        plan.missing().stream()
            .flatMap(m -> m.statements().stream())
            .anyMatch(ClusterDdl::onEveryShard);
    List<ClickHouse> shards =
        perShard ? ShardNodes.of(clickHouse, plan.layout(), shardUrls) : List.of();
    try {
      return applyWith(clickHouse, plan, shards);
    } finally {
      shards.forEach(ClickHouse::close);
    }
  }

  private static List<String> applyWith(ClickHouse clickHouse, Plan plan, List<ClickHouse> shards) {
    for (String statement : plan.preparation()) {
      executeIn(clickHouse, statement);
    }
    List<String> applied = new ArrayList<>();
    for (Migration migration : plan.missing()) {
      for (String statement : migration.statements()) {
        if (ClusterDdl.onEveryShard(statement)) {
          for (ClickHouse shard : shards) {
            executeUnlessAdded(shard, statement);
          }
        } else if (statement.startsWith("INSERT")) {
          clickHouse.execute(statement, plan.layout().insertSettings());
        } else {
          executeUnlessAdded(clickHouse, statement);
        }
      }
      record(clickHouse, plan, migration);
      LOG.info(
          "applied ClickHouse migration {} to database {} ({})",
          migration.name(),
          clickHouse.database(),
          plan.layout());
      applied.add(migration.name());
    }
    return applied;
  }

  /**
   * Records {@code migration} as applied. On a cluster the row is written with a quorum of every
   * node, so once migrate returns, any node answers the services' version check.
   */
  private static void record(ClickHouse clickHouse, Plan plan, Migration migration) {
    TabSeparated row =
        new TabSeparated(64)
            .number(migration.version())
            .string(migration.name())
            .string(plan.layout().cluster())
            .endRow();
    clickHouse.insertTabSeparated(
        TABLE,
        List.of("version", "name", "cluster"),
        row.inputStream(),
        plan.layout().isCluster()
            ? Map.of("insert_quorum", Integer.toString(plan.clusterNodes()))
            : Map.of());
  }

  private static void executeUnlessAdded(ClickHouse clickHouse, String statement) {
    if (AddedColumns.existIn(clickHouse, statement)) {
      LOG.info(
          "skipped on {}, as its columns exist already: {}", clickHouse.config().url(), statement);
    } else {
      executeIn(clickHouse, statement);
    }
  }

  /** CREATE DATABASE runs outside the database it creates. */
  private static void executeIn(ClickHouse clickHouse, String statement) {
    if (statement.startsWith("CREATE DATABASE")) {
      clickHouse.executeOutsideDatabase(statement);
    } else {
      clickHouse.execute(statement);
    }
  }

  private static void refuseOtherLayout(
      String database, SchemaLayout recorded, SchemaLayout wanted) {
    if (!recorded.equals(wanted)) {
      throw new IllegalStateException(
          "ClickHouse database "
              + database
              + " was migrated for a "
              + recorded
              + ", not a "
              + wanted
              + ": migrate it with `"
              + recorded.migrateCommand()
              + "` (a layout is chosen once, when the database is created)");
    }
  }

  static int versionOf(String file) {
    int end = 0;
    while (end < file.length() && Character.isDigit(file.charAt(end))) {
      end++;
    }
    if (end == 0) {
      throw new IllegalStateException("migration file name must start with its number: " + file);
    }
    return Integer.parseInt(file.substring(0, end));
  }

  /**
   * Splits a file into statements at semicolons that end a line; {@code --} comment lines are
   * dropped.
   */
  static List<String> statements(String text) {
    List<String> result = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\n")) {
      String trimmed = line.trim();
      if (trimmed.startsWith("--") || trimmed.isEmpty()) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String statement = current.toString().trim();
        result.add(statement.substring(0, statement.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      result.add(current.toString().trim());
    }
    return result;
  }

  private static String resource(String path) {
    try (InputStream in = Migrations.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("migration resource missing from the classpath: " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
