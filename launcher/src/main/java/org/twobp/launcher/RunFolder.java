package org.twobp.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import org.tomlj.Toml;
import org.tomlj.TomlParseResult;

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
 */
record RunFolder(Path dir) {

    static final String CONFIG = "config.toml";
    static final String LAUNCH = "launch.toml";
    static final String JOB_SCRIPT = "job.sbatch";
    static final String STOP = "STOP";

    /** {@code --run-dir DIR}, else {@code runs/<--name>}, else {@code runs/<config stem>-<time>}; absolute. */
    static RunFolder choose(String command, String runDir, String name, Path configFile, LocalDateTime now) {
        if (runDir != null && name != null) {
            throw new UsageException(command, "give --name or --run-dir, not both");
        }
        if (runDir != null) {
            return new RunFolder(Path.of(runDir).toAbsolutePath().normalize());
        }
        if (name == null) {
            String stem = configFile.getFileName().toString().replaceFirst("\\.toml$", "");
            name = stem + "-" + now.format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
        } else if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new UsageException(command, "--name '" + name + "': use letters, digits, '.', '_' and '-'");
        }
        return new RunFolder(Path.of("runs", name).toAbsolutePath().normalize());
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

    void create(ResolvedRun run, Launch launch) throws IOException {
        Files.createDirectories(logs());
        Files.writeString(config(), run.toml());
        writeLaunch(launch);
    }

    void writeLaunch(Launch launch) throws IOException {
        Files.writeString(dir.resolve(LAUNCH), launch.toToml());
    }

    Launch readLaunch(String command) {
        Path f = dir.resolve(LAUNCH);
        if (!Files.isRegularFile(f)) {
            throw new UsageException(command, dir + " has no " + LAUNCH + ": it was not started by 'twobp train' or"
                    + " 'twobp submit'");
        }
        try {
            TomlParseResult t = Toml.parse(Files.readString(f));
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
            StringBuilder s = new StringBuilder("# how twobp started this run; 'twobp resume' continues it the same way\n");
            s.append("mode = \"").append(mode).append("\"    # local: mpirun on one machine; slurm: sbatch ")
                    .append(JOB_SCRIPT).append('\n');
            s.append("ranks = ").append(ranks).append('\n');
            if (dumpWeights != null) {
                s.append("dump_weights = \"").append(dumpWeights.replace("\\", "\\\\").replace("\"", "\\\"")).append("\"\n");
            }
            return s.toString();
        }
    }
}
