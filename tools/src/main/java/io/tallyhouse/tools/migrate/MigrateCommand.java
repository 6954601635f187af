package io.tallyhouse.tools.migrate;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.ClusterDdl;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.Migrations.Migration;
import io.tallyhouse.common.clickhouse.Migrations.Plan;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.Unavailable;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code tallyhouse migrate}: brings the ClickHouse database of the environment to this build's
 * schema ({@link Migrations}), on a single node or ({@code --cluster}) across a cluster.
 */
@Command(
    name = "migrate",
    header = "Brings the ClickHouse database to the schema this build needs.",
    description = {
      "Applies the numbered migrations the database has not recorded in schema_migrations, in order, and"
          + " records each; a rerun applies nothing. The services never change the schema: they refuse to"
          + " start on a database behind their build and name this command. Run it before starting (or"
          + " upgrading) the services.",
      "",
      "--cluster NAME creates the tables on every node of the ClickHouse cluster NAME (remote_servers):"
          + " Replicated*MergeTree tables <table>_local per shard and Distributed tables under the plain names,"
          + " sharded by account. The layout is chosen once, when the database is created, and recorded: the"
          + " services read it from the database.",
      "",
      "ClickHouse comes from CLICKHOUSE_URL (default http://127.0.0.1:8123, the local stack of make run),"
          + " CLICKHOUSE_USER, CLICKHOUSE_PASSWORD and CLICKHOUSE_DATABASE (default tallyhouse); the user"
          + " needs the right to create databases and tables.",
      ""
    },
    exitCodeList = {
      "0:the database is at this build's schema (or, with --dry-run, the plan was printed)",
      "2:bad argument or setting, a database of another layout, an unknown cluster; nothing was changed",
      "3:ClickHouse cannot be reached or refused a statement; a rerun continues where it stopped"
    })
public final class MigrateCommand implements Callable<Integer> {

  @Option(
      names = "--cluster",
      paramLabel = "NAME",
      description = "the ClickHouse cluster (remote_servers) to create the tables across")
  String cluster;

  @Option(
      names = "--shard-url",
      paramLabel = "URL",
      description =
          "with --cluster: the HTTP URL of one node of every shard (repeat it per shard), for a"
              + " migration that changes the sorting key of sharded tables, which ClickHouse 18.16"
              + " cannot run ON CLUSTER; default: each shard's first replica in remote_servers, on"
              + " the port of CLICKHOUSE_URL")
  List<String> shardUrls = new ArrayList<>();

  @Option(
      names = "--dry-run",
      description = "prints what would be applied, with its statements, and changes nothing")
  boolean dryRun;

  @Spec CommandSpec spec;

  private final Map<String, String> env;
  private final PrintStream out;

  /** Reads its settings from {@code env} and prints its report to {@code out}. */
  public MigrateCommand(Map<String, String> env, PrintStream out) {
    this.env = Map.copyOf(env);
    this.out = out;
  }

  /** What migrate reads from its environment: the ClickHouse the services use. */
  public static ClickHouseConfig settings(Settings settings) {
    return PipelineSettings.clickHouse(settings);
  }

  @Override
  public Integer call() {
    ClickHouseConfig config;
    SchemaLayout layout;
    try {
      config = ServiceMain.read(env, MigrateCommand::settings);
      layout = cluster == null ? SchemaLayout.SINGLE_NODE : SchemaLayout.cluster(cluster);
      if (cluster == null && !shardUrls.isEmpty()) {
        throw new IllegalArgumentException("--shard-url needs --cluster");
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    String where =
        "ClickHouse database " + config.database() + " at " + config.url() + " (" + layout + ")";
    try (ClickHouse clickHouse = new ClickHouse(config)) {
      Plan plan;
      try {
        plan = Migrations.plan(clickHouse, layout, Migrations.tallyhouseTables());
      } catch (IllegalStateException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      String latest = last(Migrations.tallyhouseTables());
      if (plan.empty()) {
        out.println(where + " is at " + latest + ": nothing to apply");
        return ExitCodes.OK;
      }
      if (dryRun) {
        printPlan(plan);
        out.println(
            where
                + ": would apply "
                + plan.missing().size()
                + " migration(s) to reach "
                + latest
                + "; nothing was changed (--dry-run)");
        return ExitCodes.OK;
      }
      List<String> applied;
      try {
        applied = Migrations.apply(clickHouse, plan, shardUrls);
      } catch (IllegalStateException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      applied.forEach(name -> out.println("applied " + name));
      out.println(where + " is at " + latest + ": applied " + applied.size() + " migration(s)");
      return ExitCodes.OK;
    } catch (ClickHouseException e) {
      throw new Unavailable(
          where
              + ": "
              + e.getMessage()
              + "; check CLICKHOUSE_URL and that the server runs. The migrations applied are"
              + " recorded: a rerun continues where this one stopped");
    }
  }

  private void printPlan(Plan plan) {
    for (String statement : plan.preparation()) {
      out.println("would run: " + statement + ";");
    }
    for (Migration migration : plan.missing()) {
      out.println("would apply " + migration.name() + ":");
      for (String statement : migration.statements()) {
        if (ClusterDdl.onEveryShard(statement)) {
          out.println("  -- on one node of every shard (--shard-url):");
        }
        out.println(statement.indent(2).stripTrailing() + ";");
      }
    }
  }

  private static String last(List<Migration> migrations) {
    return migrations.get(migrations.size() - 1).name();
  }
}
