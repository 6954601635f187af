package io.tallyhouse.common.clickhouse;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * ADD COLUMN c ...} is skipped here when {@code t} already has every column it adds ({@code
 * system.columns}; with {@code ON CLUSTER}, on one replica of every shard, through {@code
 * cluster()}): its other clauses (e.g. {@code MODIFY ORDER BY}) ran with it, as one ALTER. An
 * {@code INSERT ... SELECT} must insert rows that collapse with the copies a repetition adds (a
 * ReplacingMergeTree with them in its sorting key).
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

  private static final Pattern ALTER_TABLE =
      Pattern.compile(
          "ALTER TABLE (?:(\\w+)\\.)?(\\w+)(?: ON CLUSTER (\\w+))? (.*)", Pattern.DOTALL);
  private static final Pattern ADD_COLUMN = Pattern.compile("ADD COLUMN (\\w+)\\s");

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
        perShard ? shardNodes(clickHouse, plan.layout(), shardUrls) : List.of();
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
    if (columnsAlreadyAdded(clickHouse, statement)) {
      LOG.info(
          "skipped on {}, as its columns exist already: {}", clickHouse.config().url(), statement);
    } else {
      executeIn(clickHouse, statement);
    }
  }

  /**
   * Clients of one node of every shard of {@code layout}'s cluster: at {@code urls}, or else at the
   * host of each shard's first replica with the scheme and port of {@code entry}'s URL. Each node
   * must say it belongs to another shard, and all shards must be there.
   */
  private static List<ClickHouse> shardNodes(
      ClickHouse entry, SchemaLayout layout, List<String> urls) {
    String cluster = SqlLiteral.string(layout.cluster());
    List<String> chosen = new ArrayList<>(urls);
    URI entryUrl = URI.create(entry.config().url());
    List<Integer> expected = new ArrayList<>();
    for (JsonNode row :
        entry.querySystem(
            "SELECT shard_num, host_name FROM system.clusters WHERE cluster = "
                + cluster
                + " AND replica_num = 1 ORDER BY shard_num")) {
      expected.add(row.get("shard_num").asInt());
      if (urls.isEmpty()) {
        chosen.add(
            entryUrl.getScheme()
                + "://"
                + row.get("host_name").asText()
                + (entryUrl.getPort() < 0 ? "" : ":" + entryUrl.getPort()));
      }
    }
    List<ClickHouse> nodes = new ArrayList<>();
    List<Integer> found = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (String url : chosen) {
      ClickHouseConfig config = entry.config();
      ClickHouse node =
          new ClickHouse(
              new ClickHouseConfig(
                  url,
                  config.user(),
                  config.password(),
                  config.database(),
                  config.timeout(),
                  config.caCertificate()));
      nodes.add(node);
      try {
        List<JsonNode> own =
            node.querySystem(
                "SELECT DISTINCT shard_num FROM system.clusters WHERE cluster = "
                    + cluster
                    + " AND is_local = 1");
        if (own.size() != 1) {
          problems.add(url + " is not a node of cluster " + layout.cluster());
        } else {
          found.add(own.get(0).get("shard_num").asInt());
        }
      } catch (ClickHouseException e) {
        problems.add(url + " does not answer: " + e.getMessage());
      }
    }
    if (problems.isEmpty() && !found.stream().sorted().toList().equals(expected)) {
      problems.add(
          "the nodes are of shards "
              + found
              + ", but cluster "
              + layout.cluster()
              + " has "
              + expected);
    }
    if (!problems.isEmpty()) {
      nodes.forEach(ClickHouse::close);
      throw new IllegalStateException(
          "a migration alters the sorting key of sharded tables, which ClickHouse 18.16 runs on"
              + " one node of every shard, not ON CLUSTER; the nodes "
              + chosen
              + " are not one of every shard: "
              + String.join("; ", problems)
              + " (name one node of every shard with --shard-url)");
    }
    return nodes;
  }

  /**
   * Whether {@code statement} is an {@code ALTER TABLE ... ADD COLUMN} whose table has every column
   * it adds, on this node, or with {@code ON CLUSTER} on one replica of every shard. Partly added
   * columns (an ALTER ON CLUSTER that failed on some nodes) are not skipped: the statement runs
   * again, adds them where missing and fails where present, and the next run skips it.
   */
  static boolean columnsAlreadyAdded(ClickHouse clickHouse, String statement) {
    Matcher alter = ALTER_TABLE.matcher(statement);
    if (!alter.matches()) {
      return false;
    }
    List<String> added = addedColumns(alter.group(4));
    if (added.isEmpty()) {
      return false;
    }
    String database = alter.group(1) == null ? clickHouse.database() : alter.group(1);
    String cluster = alter.group(3);
    String where =
        " WHERE database = "
            + SqlLiteral.string(database)
            + " AND table = "
            + SqlLiteral.string(alter.group(2))
            + " AND name IN ("
            + String.join(", ", added.stream().map(SqlLiteral::string).toList())
            + ")";
    long places =
        cluster == null
            ? 1
            : clickHouse
                .querySystem(
                    "SELECT uniqExact(shard_num) AS shards FROM system.clusters WHERE cluster = "
                        + SqlLiteral.string(cluster))
                .get(0)
                .get("shards")
                .asLong();
    String columns =
        cluster == null
            ? "system.columns"
            : "cluster(" + SqlLiteral.string(cluster) + ", 'system', 'columns')";
    long found =
        clickHouse
            .querySystem("SELECT count() AS found FROM " + columns + where)
            .get(0)
            .get("found")
            .asLong();
    return found == places * added.size();
  }

  /** The columns the ADD COLUMN clauses of an ALTER add. */
  static List<String> addedColumns(String clauses) {
    List<String> columns = new ArrayList<>();
    for (String clause : ClusterDdl.topLevelClauses(clauses)) {
      Matcher add = ADD_COLUMN.matcher(clause);
      if (add.lookingAt()) {
        columns.add(add.group(1));
      }
    }
    return columns;
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
