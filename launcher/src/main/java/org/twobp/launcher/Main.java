package org.twobp.launcher;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code twobp} command: subcommands dispatched on the first argument, each with its own
 * {@code --help}. Usage errors exit with code 2.
 */
public final class Main {

    static final int USAGE = 2;

    private Main() {
    }

    static Map<String, Command> commands() {
        Map<String, Command> m = new LinkedHashMap<>();
        for (Command c : new Command[] {new TrainCommand(), new SubmitCommand(), new ResumeCommand(),
                new StatusCommand(), new AnalyzeCommand(), new SimulateCommand(), new CkptCommand(), new EnvCommand()}) {
            m.put(c.name(), c);
        }
        return m;
    }

    static String usage() {
        StringBuilder s = new StringBuilder("usage: twobp <command> [options]    (twobp <command> --help for its options)\n\ncommands:\n");
        commands().values().forEach(c -> s.append(String.format("  %-10s %s%n", c.name(), c.summary())));
        return s.toString();
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 0) {
            System.err.print(usage());
            return USAGE;
        }
        if (args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            System.out.print(usage());
            return 0;
        }
        Command c = commands().get(args[0]);
        if (c == null) {
            System.err.println("twobp: unknown command '" + args[0] + "'\n");
            System.err.print(usage());
            return USAGE;
        }
        return execute(c, java.util.Arrays.copyOfRange(args, 1, args.length));
    }

    /** Runs one command: usage errors print a pointer to --help and give exit code 2, other failures 1. */
    static int execute(Command c, String[] rest) {
        try {
            return c.run(rest);
        } catch (UsageException e) {
            System.err.println("twobp " + e.command() + ": " + e.getMessage());
            System.err.println("see: twobp " + e.command() + " --help");
            return USAGE;
        } catch (Exception e) {
            System.err.println("twobp " + c.name() + ": " + e.getMessage());
            return 1;
        }
    }
}
