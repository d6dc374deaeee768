package org.twobp.launcher;

import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The one place where values become {@code #SBATCH} lines. Every value is checked against what
 * Slurm takes for its option, and anything else is refused (a usage error, exit 2) rather than
 * mended: a newline in a value would end the #SBATCH line and make the rest of it a shell
 * command, and sbatch stops reading #SBATCH lines at the first line that is not one, so the
 * options after it ({@code --requeue}, {@code --signal}, {@code --output}) would be lost.
 *
 * <p>Values that need it are written in double quotes with {@code \} and {@code "} escaped by a
 * backslash, which is how sbatch's own #SBATCH reader takes them (it also ends a line at an
 * unquoted {@code #}); paths may then hold spaces, quotes, {@code $} and backticks and reach
 * Slurm as they are. Shell words of the script body are quoted by {@link Shell#quote}.
 */
final class SbatchOptions {

    /** Partition names: Slurm's are words of letters, digits, '_', '-' and '.'; a list is comma-separated. */
    static final Pattern PARTITION = Pattern.compile("[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*");
    /** Account names as sacctmgr creates them. */
    static final Pattern ACCOUNT = Pattern.compile("[A-Za-z0-9_.@-]+");
    /** A long sbatch option, with or without a value. */
    static final Pattern EXTRA = Pattern.compile("--([a-z][a-z0-9-]*)(=(.*))?", Pattern.DOTALL);
    /** Characters written without quotes. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_@%+=:,./-]*");
    static final int MAX_VALUE = 2048;

    /** Options the job script sets itself: another value for one of them would break the run's requeue or logs. */
    static final Set<String> OWN = Set.of("job-name", "J", "nodes", "ntasks", "ntasks-per-node", "gpus-per-node",
            "cpus-per-task", "time", "partition", "account", "output", "error", "open-mode", "requeue", "no-requeue",
            "signal", "chdir");

    private SbatchOptions() {
    }

    /** {@code #SBATCH --option=value}, the value checked and quoted; a bad value is an IllegalArgumentException. */
    static String line(String option, String value) {
        return "#SBATCH --" + option + "=" + quote(checked(option, value));
    }

    /** {@code #SBATCH --option} for a flag. */
    static String flag(String option) {
        return "#SBATCH --" + option;
    }

    /** A Slurm partition (or comma-separated list) as given to --partition. */
    static String partition(String value) {
        return matching("--partition", value, PARTITION, "a partition name of letters, digits, '_', '-' and '.'"
                + " (several: gpu,gpu-long)");
    }

    /** A Slurm account as given to --account. */
    static String account(String value) {
        return matching("--account", value, ACCOUNT, "an account name of letters, digits, '_', '-', '.' and '@'");
    }

    /**
     * One more option from {@code --sbatch}: a long option with an optional value, none that twobp
     * sets itself. Returned as the #SBATCH line.
     */
    static String extra(String given) {
        var m = EXTRA.matcher(given == null ? "" : given);
        if (!m.matches()) {
            throw new IllegalArgumentException("--sbatch " + Shell.quote(String.valueOf(given)) + ": give one long sbatch"
                    + " option, e.g. --sbatch=--qos=high or --sbatch=--exclusive");
        }
        String name = m.group(1);
        if (OWN.contains(name)) {
            throw new IllegalArgumentException("--sbatch --" + name + ": the job script sets --" + name + " itself"
                    + (List.of("partition", "account", "time", "nodes", "cpus-per-task", "gpus-per-node", "ntasks-per-node")
                    .contains(name) ? "; use twobp submit --" + name : "; twobp's requeue and logs depend on it"));
        }
        return m.group(3) == null ? flag(name) : line(name, m.group(3));
    }

    private static String matching(String what, String value, Pattern allowed, String expected) {
        checked(what, value);
        if (!allowed.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " " + Shell.quote(value) + ": Slurm takes " + expected);
        }
        return value;
    }

    /** No control characters (newline, tab, NUL ...) and a sane length, in any value. */
    static String checked(String what, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(what + " needs a value");
        }
        if (value.length() > MAX_VALUE) {
            throw new IllegalArgumentException(what + ": a value of " + value.length() + " characters; Slurm options"
                    + " take at most " + MAX_VALUE);
        }
        String control = Shell.controlCharacter(value);
        if (control != null) {
            throw new IllegalArgumentException(what + " " + Shell.quote(value) + " has a control character (" + control
                    + "), which would end the #SBATCH line: give a value of printable characters");
        }
        return value;
    }

    /** A value as sbatch's #SBATCH reader takes it: plain, or in double quotes with \ and " escaped. */
    static String quote(String value) {
        if (PLAIN.matcher(value).matches() && !value.isEmpty()) {
            return value;
        }
        return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /**
     * A path in a filename pattern (--output): Slurm replaces {@code %j}, {@code %x} ... in it, so a
     * literal '%' of the path is written {@code %%}. A backslash cannot be written at all: one anywhere
     * in the pattern makes slurmd drop it and leave every '%' unreplaced, so the job's output would go
     * to another path and the job fail to start.
     */
    static String literalInPattern(String path) {
        return runPath(path).replace("%", "%%");
    }

    /** A run folder path for --chdir and --output. */
    static String runPath(String path) {
        checked("the run folder", path);
        if (path.contains("\\")) {
            throw new IllegalArgumentException("the run folder " + Shell.quote(path) + " has a backslash, which Slurm's"
                    + " --output patterns cannot carry (slurmd drops it and opens another file); choose a path without"
                    + " '\\'");
        }
        return path;
    }

    /** The run's name as a job name: only a label, so anything outside [A-Za-z0-9._-] becomes '_'. */
    static String jobName(String runName) {
        String n = runName.replaceAll("[^A-Za-z0-9._-]+", "_");
        return n.isEmpty() ? "twobp" : n.length() > 128 ? n.substring(0, 128) : n;
    }
}
