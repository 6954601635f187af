package io.tallyhouse.tools;

import io.tallyhouse.common.runtime.BuildVersion;
import io.tallyhouse.tools.keys.KeysCommand;
import io.tallyhouse.tools.migrate.MigrateCommand;
import io.tallyhouse.tools.reconcile.ReconcileCommand;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * {@code tallyhouse}: the one entry point of the command-line tools, each a subcommand ({@code
 * keys}, {@code reconcile}, {@code migrate}). Every command has {@code --help}; the exit codes are
 * those of {@link ExitCodes}.
 */
@Command(
    name = "tallyhouse",
    scope = ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    versionProvider = TallyhouseCli.Version.class,
    description =
        "The command-line tools of Tallyhouse. 'tallyhouse COMMAND --help' describes a command.",
    commandListHeading = "%nCommands:%n",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      " 0:done; reconcile: every account-day-workspace agrees",
      " 1:a finding: reconcile found a difference, revoke found no key to revoke",
      " 2:usage error: unknown, repeated or missing option, bad value or setting; nothing was changed",
      " 3:what the command needs cannot be reached or read (ClickHouse, the key file)",
      "70:an unexpected error (a bug), with its stack trace on stderr"
    })
public final class TallyhouseCli implements Callable<Integer> {

  @Spec CommandSpec spec;

  public static void main(String[] args) {
    // The tools' report is stdout: logging goes to stderr, warnings only, unless the caller
    // configured it.
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "logback-cli.xml");
    }
    System.exit(run(args, System.getenv(), Clock.systemUTC(), System.out, System.err));
  }

  /** Runs one command with the settings of {@code env}; returns the exit code. */
  public static int run(
      String[] args, Map<String, String> env, Clock clock, PrintStream out, PrintStream err) {
    return commandLine(env, clock, out, err).execute(args);
  }

  /** The command tree, writing its reports to {@code out} and its errors to {@code err}. */
  public static CommandLine commandLine(
      Map<String, String> env, Clock clock, PrintStream out, PrintStream err) {
    CommandLine cli =
        new CommandLine(new TallyhouseCli())
            .addSubcommand(new KeysCommand())
            .addSubcommand(new ReconcileCommand(env, clock, out))
            .addSubcommand(new MigrateCommand(env, out));
    cli.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
    cli.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
    cli.setParameterExceptionHandler(TallyhouseCli::badArguments);
    cli.setExecutionExceptionHandler(TallyhouseCli::failed);
    return cli;
  }

  @Override
  public Integer call() {
    throw new ParameterException(
        spec.commandLine(),
        "no command given: use tallyhouse keys, tallyhouse reconcile or tallyhouse migrate");
  }

  /** What was wrong, what picocli suggests instead, and where the options are described. */
  private static int badArguments(ParameterException e, String[] args) {
    CommandLine command = e.getCommandLine();
    String name = command.getCommandSpec().qualifiedName();
    PrintWriter err = command.getErr();
    err.println(name + ": " + e.getMessage());
    UnmatchedArgumentException.printSuggestions(e, err);
    err.println("Run '" + name + " --help' for its options.");
    return ExitCodes.USAGE;
  }

  private static int failed(Exception e, CommandLine command, ParseResult parsed) {
    String name = command.getCommandSpec().qualifiedName();
    PrintWriter err = command.getErr();
    if (e instanceof Unavailable) {
      err.println(name + ": " + e.getMessage());
      return ExitCodes.UNAVAILABLE;
    }
    if (e instanceof UncheckedIOException io) {
      err.println(
          name
              + ": "
              + io.getMessage()
              + ": "
              + io.getCause()
              + "; check the path and its permissions");
      return ExitCodes.UNAVAILABLE;
    }
    err.println(name + ": unexpected error, please report it:");
    e.printStackTrace(err);
    return ExitCodes.INTERNAL_ERROR;
  }

  /** The version of the build (and its commit, when known), as the services print it. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {BuildVersion.current().describe("tallyhouse")};
    }
  }
}
