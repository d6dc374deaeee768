package org.twobp.launcher;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** Commons CLI with the conventions every subcommand shares: --help, usage errors as exit 2. */
final class CliParsing {

    private CliParsing() {
    }

    /** Parsed options, or null when --help was asked for (the help is already printed). */
    static CommandLine parse(String command, String synopsis, String description, Options options, String[] args) {
        options.addOption("h", "help", false, "show this help");
        CommandLine cl;
        try {
            cl = new DefaultParser().parse(options, args);
        } catch (ParseException e) {
            throw new UsageException(command, e.getMessage());
        }
        if (cl.hasOption("help")) {
            System.out.print(help(command, synopsis, description, options));
            return null;
        }
        return cl;
    }

    static String help(String command, String synopsis, String description, Options options) {
        StringWriter out = new StringWriter();
        HelpFormatter f = HelpFormatter.builder().get();
        f.printHelp(new PrintWriter(out), 100, "twobp " + command + " " + synopsis, description + "\n\noptions:",
                options, 2, 2, "", false);
        return out.toString();
    }

    /**
     * A path the user typed: no control characters (a newline in a path would break every line it is
     * written into: the job script, the logs, launch.toml), and one this platform can name.
     */
    static java.nio.file.Path path(String command, String what, String value) {
        String control = Shell.controlCharacter(value);
        if (control != null) {
            throw new UsageException(command, what + " " + Shell.quote(value) + " has a control character (" + control
                    + "); give a path of printable characters");
        }
        if (value.isEmpty()) {
            throw new UsageException(command, what + " needs a path");
        }
        try {
            return java.nio.file.Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw new UsageException(command, what + " " + Shell.quote(value) + " is not a valid path: " + e.getReason());
        }
    }

    /**
     * A path that is only read (a config file): any name the platform can have, since nothing of it
     * is written anywhere without being made safe (the default run name keeps only safe characters).
     */
    static java.nio.file.Path inputPath(String command, String what, String value) {
        try {
            return java.nio.file.Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw new UsageException(command, what + " " + Shell.quote(value) + " is not a valid path: " + e.getReason());
        }
    }

    static int intOption(String command, CommandLine cl, String name, int fallback, int min) {
        if (!cl.hasOption(name)) {
            return fallback;
        }
        String v = cl.getOptionValue(name);
        try {
            int n = Integer.parseInt(v);
            if (n < min) {
                throw new UsageException(command, "--" + name + " must be at least " + min + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(command, "--" + name + " needs a whole number, got '" + v + "'");
        }
    }
}
