package org.twobp.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import org.tomlj.Toml;
import org.tomlj.TomlParseResult;
import org.twobp.worker.train.TomlWriter;

/**
 * A run's folder, {@code runs/<name>/}:
 * <pre>
 *   config.toml      the resolved configuration (every key, overrides applied)
 *   launch.toml      how the run was started (local or Slurm, ranks): what 'twobp resume' repeats
 *   job.sbatch       the generated job script (Slurm runs)
 *   logs/            one folder of per-rank logs per attempt; Slurm's job output
 *   checkpoints/     step-N/ folders, written by the ranks
 *   STOP             while it exists, the ranks checkpoint and stop at the next step boundary
 * </pre>
 *
 * @param defaultName the name was made up by twobp (config stem and time), so another free one may be taken
 */
record RunFolder(Path dir, boolean defaultName) {

    static final String CONFIG = "config.toml";
    static final String LAUNCH = "launch.toml";
    static final String JOB_SCRIPT = "job.sbatch";
    static final String STOP = "STOP";

    /** What {@code --name} takes. */
    static final String NAME = "[A-Za-z0-9][A-Za-z0-9._-]*";
    static final int MAX_NAME = 200;
    /** Longest run folder path taken: room below it for logs/job-ID-N/1/rank.R/stdout within PATH_MAX. */
    static final int MAX_PATH = 1024;

    /** A folder named by the user, or an existing run's. */
    RunFolder(Path dir) {
        this(dir, false);
    }

    /**
     * {@code --run-dir DIR}, else {@code runs/<--name>}, else {@code runs/<config stem>-<time>}; absolute.
     * A default name is unique: the first free of NAME, NAME-2, NAME-3 ..., and {@link #create} claims it
     * atomically, moving on when another run took it first.
     */
    static RunFolder choose(String command, String runDir, String name, Path configFile, LocalDateTime now) {
        if (runDir != null && name != null) {
            throw new UsageException(command, "give --name or --run-dir, not both");
        }
        if (runDir != null) {
            checkPath(command, "--run-dir", runDir);
            RunFolder f = new RunFolder(Path.of(runDir).toAbsolutePath().normalize());
            checkPath(command, "--run-dir", f.dir().toString());
            return f;
        }
        if (name != null && (!name.matches(NAME) || name.length() > MAX_NAME)) {
            throw new UsageException(command, "--name " + Shell.quote(name) + ": use at most " + MAX_NAME
                    + " letters, digits, '.', '_' and '-', starting with a letter or digit");
        }
        boolean defaulted = name == null;
        RunFolder f = new RunFolder(Path.of("runs", defaulted ? defaultName(configFile, now) : name)
                .toAbsolutePath().normalize(), defaulted);
        checkPath(command, "the run folder", f.dir().toString());
        return defaulted ? f.firstFree() : f;
    }

    /**
     * {@code <config stem>-<yyyyMMdd-HHmmss>}, the stem cut down to safe characters (any other run of
     * characters becomes '_'), so that a config file's name never brings a newline, a quote or a
     * {@code $} into a path, a job name or a script.
     */
    static String defaultName(Path configFile, LocalDateTime now) {
        Path file = configFile.getFileName();
        String stem = file == null ? "" : file.toString().replaceFirst("\\.toml$", "");
        stem = stem.replaceAll("[^A-Za-z0-9._-]+", "_").replaceAll("^[._-]+", "");
        if (stem.length() > 64) {
            stem = stem.substring(0, 64);
        }
        return (stem.isEmpty() ? "run" : stem) + "-" + now.format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
    }

    /**
     * A run folder path that every consumer takes as it is: no control characters (a newline would end
     * a line of a job script or of a log), no ':' (mpirun's --output-filename reads what follows one as
     * its options and writes the rank logs elsewhere), and short enough for the logs below it.
     */
    static void checkPath(String command, String what, String path) {
        String control = Shell.controlCharacter(path);
        if (control != null) {
            throw new UsageException(command, what + " " + Shell.quote(path) + " has a control character (" + control
                    + "); choose a path of printable characters");
        }
        if (path.indexOf(':') >= 0) {
            throw new UsageException(command, what + " " + Shell.quote(path) + " has a ':', which mpirun's"
                    + " --output-filename takes as the start of its options; choose a path without ':'");
        }
        if (path.length() > MAX_PATH) {
            throw new UsageException(command, what + " is " + path.length() + " characters long; choose one of at"
                    + " most " + MAX_PATH);
        }
        for (String part : path.split("/")) {
            if (part.getBytes(StandardCharsets.UTF_8).length > 255) {
                throw new UsageException(command, what + " has a name of more than 255 bytes, which file systems"
                        + " refuse: " + Shell.quote(part.substring(0, 40)) + "...");
            }
        }
    }

    /** This folder, or for a default name the first of NAME-2, NAME-3 ... that does not exist yet. */
    private RunFolder firstFree() {
        RunFolder f = this;
        for (int i = 2; Files.exists(f.dir()); i++) {
            f = new RunFolder(dir.resolveSibling(dir.getFileName() + "-" + i), true);
        }
        return f;
    }

    /** An earlier run's folder is never reused by a new run: that is what 'twobp resume' is for. */
    void checkNew(String command) {
        if (Files.exists(dir.resolve(CONFIG)) || Files.exists(dir.resolve("checkpoints"))) {
            throw new UsageException(command, "run folder " + dir + " already holds a run: continue it with"
                    + " 'twobp resume " + dir + "', or choose another --name");
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UsageException(command, dir + " exists and is not a folder: choose another --name or --run-dir");
        }
    }

    /** An existing run's folder, for resume and status. */
    static RunFolder existing(String command, String dir) {
        Path p = Path.of(dir).toAbsolutePath().normalize();
        if (!Files.isDirectory(p)) {
            throw new UsageException(command, "run folder " + dir + " does not exist");
        }
        if (!Files.isRegularFile(p.resolve(CONFIG))) {
            throw new UsageException(command, dir + " is not a run folder: it has no " + CONFIG
                    + " (runs started by 'twobp train' or 'twobp submit' have one)");
        }
        return new RunFolder(p);
    }

    Path config() {
        return dir.resolve(CONFIG);
    }

    Path jobScript() {
        return dir.resolve(JOB_SCRIPT);
    }

    Path logs() {
        return dir.resolve("logs");
    }

    Path stopFile() {
        return dir.resolve(STOP);
    }

    String name() {
        return dir.getFileName().toString();
    }

    /**
     * Claims the folder, then writes the resolved config and {@code launch.toml}; returns the folder the
     * run got. The claim is atomic: of two runs started at once under one default name, the later moves
     * on to the next free name; under a name the user chose, it is refused.
     */
    RunFolder create(String command, ResolvedRun run, Launch launch) throws IOException {
        Files.createDirectories(dir.getParent());
        RunFolder f = this;
        for (int i = 2; ; i++) {
            try {
                Files.createDirectory(f.dir());
                break;
            } catch (FileAlreadyExistsException e) {
                if (!defaultName) {
                    f.checkNew(command);   // an empty folder made by the user is fine
                    break;
                }
                f = new RunFolder(dir.resolveSibling(dir.getFileName() + "-" + i), true);
            }
        }
        Files.createDirectories(f.logs());
        Files.writeString(f.config(), run.toml(), StandardCharsets.UTF_8);
        f.writeLaunch(launch);
        return f;
    }

    void writeLaunch(Launch launch) throws IOException {
        Files.writeString(dir.resolve(LAUNCH), launch.toToml(), StandardCharsets.UTF_8);
    }

    Launch readLaunch(String command) {
        Path f = dir.resolve(LAUNCH);
        if (!Files.isRegularFile(f)) {
            throw new UsageException(command, dir + " has no " + LAUNCH + ": it was not started by 'twobp train' or"
                    + " 'twobp submit'");
        }
        try {
            TomlParseResult t = Toml.parse(Files.readString(f, StandardCharsets.UTF_8));
            if (t.hasErrors()) {
                throw new UsageException(command, f + " is not valid TOML: " + t.errors().get(0));
            }
            String mode = t.getString("mode");
            Long ranks = t.getLong("ranks");
            if (mode == null || ranks == null || !(mode.equals(Launch.LOCAL) || mode.equals(Launch.SLURM))) {
                throw new UsageException(command, f + " needs mode = \"local\" or \"slurm\" and ranks = N");
            }
            return new Launch(mode, ranks.intValue(), t.getString("dump_weights"));
        } catch (IOException e) {
            throw new UsageException(command, "cannot read " + f + ": " + e.getMessage());
        }
    }

    /** How a run was started, so that it can be continued the same way. */
    record Launch(String mode, int ranks, String dumpWeights) {

        static final String LOCAL = "local";
        static final String SLURM = "slurm";

        String toToml() {
            TomlWriter w = new TomlWriter()
                    .comment("how twobp started this run; 'twobp resume' continues it the same way\n"
                            + "mode: local (mpirun on one machine) or slurm (sbatch " + JOB_SCRIPT + ")")
                    .put("mode", mode).put("ranks", ranks);
            if (dumpWeights != null) {
                w.put("dump_weights", dumpWeights);
            }
            return w.toString();
        }
    }
}
