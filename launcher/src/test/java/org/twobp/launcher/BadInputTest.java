package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bad input stops the launcher before anything starts, with exit code 2 and a message that
 * names the problem and the fix; nothing is written. The suite counts its distinct bad inputs and
 * prints how many ended that way.
 */
class BadInputTest {

    /** Distinct bad inputs tried, and how many of them gave exit 2 with the message and nothing written. */
    static final java.util.Set<String> TRIED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    static final java.util.Set<String> REFUSED_CLEANLY = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @org.junit.jupiter.api.AfterAll
    static void count() {
        System.out.println("bad-input suite: " + TRIED.size() + " distinct bad inputs, " + REFUSED_CLEANLY.size()
                + " refused with exit 2 before anything started, nothing written");
        assertEquals(TRIED.size(), REFUSED_CLEANLY.size());
    }

    static final String TINY = Path.of("..", "configs", "llama-tiny.toml").toString();
    static final Supplier<Environment> CPU_ONLY = () -> EnvironmentDetectionTest.env(Map.of(), 0);

    @TempDir
    Path dir;

    /** {exit code, stdout, stderr} of one command. */
    static Object[] run(Command c, String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true));
        System.setErr(new PrintStream(e, true));
        int code;
        try {
            code = Main.execute(c, args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new Object[] {code, o.toString(), e.toString()};
    }

    private void usageError(String expected, Command c, String... args) {
        String key = c.name() + " " + String.join(" ", args).replace(dir.toString(), "TMP");
        TRIED.add(key);
        Object[] r = run(c, args);
        String err = (String) r[2];
        System.out.println("twobp " + c.name() + " " + String.join(" ", args) + "\n  -> " + err.strip().replace("\n", "\n     "));
        assertEquals(2, r[0], "exit code of " + String.join(" ", args) + "; stderr:\n" + err);
        assertTrue(err.contains(expected), "expected '" + expected + "' in:\n" + err);
        assertTrue(err.contains("see: twobp " + c.name() + " --help"), err);
        assertFalse(Files.exists(dir.resolve("run")), "a bad input must not write the run folder");
        REFUSED_CLEANLY.add(key);
    }

    private String runDir() {
        return dir.resolve("run").toString();
    }

    private void train(String expected, String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--run-dir";
        all[args.length + 1] = runDir();
        usageError(expected, new TrainCommand(CPU_ONLY), all);
        assertFalse(Files.exists(dir.resolve("run")), "a bad input must not write the run folder");
    }

    private void submit(String expected, String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--run-dir";
        all[args.length + 1] = runDir();
        usageError(expected, new SubmitCommand(CPU_ONLY), all);
        assertFalse(Files.exists(dir.resolve("run")), "a bad input must not write the run folder");
    }

    @Test
    void missingConfig() {
        train("config file no/such.toml does not exist", "--config", "no/such.toml", "--dry-run");
        train("--config FILE is required", "--nproc", "2");
        submit("config file no/such.toml does not exist", "--config", "no/such.toml", "--nodes", "1",
                "--gpus-per-node", "1", "--time", "1:00:00");
    }

    @Test
    void unknownKeys() throws Exception {
        train("unknown training setting bogus", "--config", TINY, "--set", "train.bogus=1", "--dry-run");
        train("needs a section", "--config", TINY, "--set", "schedule.name=gpipe", "--dry-run");
        Path cfg = dir.resolve("typo.toml");
        Files.writeString(cfg, Files.readString(Path.of(TINY)).replace("log_every = 50", "log_evry = 50"));
        train("unknown key [train].log_evry", "--config", cfg.toString(), "--dry-run");
        Path notToml = dir.resolve("broken.toml");
        Files.writeString(notToml, "[model\ndim = 64\n");
        train("not valid TOML", "--config", notToml.toString(), "--dry-run");
    }

    @Test
    void wrongTypes() throws Exception {
        train("steps must be a number, got \"abc\"", "--config", TINY, "--set", "train.steps=abc", "--dry-run");
        train("two_bp must be true or false", "--config", TINY, "--set", "pipeline.two_bp=maybe", "--dry-run");
        train("a value is not a number", "--config", TINY, "--set", "model.seq_len=long", "--dry-run");
        train("unknown schedule 'gpip'", "--config", TINY, "--set", "pipeline.schedule=gpip", "--dry-run");
        train("--set needs section.key=value", "--config", TINY, "--set", "train.steps", "--dry-run");
        train("--nproc needs a whole number, got 'two'", "--config", TINY, "--nproc", "two", "--dry-run");
        train("(overrides go with --set KEY=VALUE)", "--config", TINY, "train.steps=5");
    }

    @Test
    void moreRanksThanTheModelHasBlocks() {
        train("16 stages but the model has only 4 blocks", "--config", TINY, "--nproc", "16", "--dry-run");
        submit("8 ranks (2 nodes x 4 GPUs): 8 stages but the model has only 4 blocks", "--config", TINY, "--nodes", "2",
                "--gpus-per-node", "4", "--time", "01:00:00", "--dry-run");
    }

    @Test
    void nodesTimesGpusThatTheScheduleCannotDivide() {
        submit("3 ranks (3 nodes x 1 GPU): Interleaved 1F1B with 3 ranks and 4 micro-batches: interleaved 1F1B needs"
                        + " micro-batches to be a multiple of ranks", "--config",
                Path.of("..", "configs", "llama-small.toml").toString(), "--nodes", "3", "--gpus-per-node", "1",
                "--time", "01:00:00", "--set", "pipeline.schedule=interleaved", "--set", "pipeline.microbatches=4",
                "--dry-run");
        submit("--ntasks-per-node 3 with --gpus-per-node 4: twobp runs one rank per GPU", "--config", TINY, "--nodes", "1",
                "--gpus-per-node", "4", "--ntasks-per-node", "3", "--time", "1:00:00");
    }

    @Test
    void badJobShapes() {
        submit("--time is required", "--config", TINY, "--nodes", "1", "--gpus-per-node", "2");
        submit("--gpus-per-node is required (0 for CPU ranks", "--config", TINY, "--nodes", "1", "--time", "10");
        submit("--nodes must be at least 1, got 0", "--config", TINY, "--nodes", "0", "--gpus-per-node", "2", "--time", "10");
        submit("--time 4h: use HH:MM:SS", "--config", TINY, "--nodes", "1", "--gpus-per-node", "2", "--time", "4h");
        submit("--time 1:75:00: minutes and seconds go up to 59", "--config", TINY, "--nodes", "1", "--gpus-per-node", "2",
                "--time", "1:75:00");
        submit("--signal-margin 60 s is not shorter than the time limit 00:01:00", "--config", TINY, "--nodes", "1",
                "--gpus-per-node", "2", "--time", "1", "--signal-margin", "60");
        submit("--launch slurm: choose mpirun or srun", "--config", TINY, "--nodes", "1", "--gpus-per-node", "2", "--time",
                "10", "--launch", "slurm");
        submit("--max-restarts must be at least 0", "--config", TINY, "--nodes", "1", "--gpus-per-node", "2", "--time",
                "10", "--max-restarts", "-1");
        submit("--template nope.template does not exist", "--config", TINY, "--nodes", "1", "--gpus-per-node", "2",
                "--time", "10", "--template", "nope.template");
    }

    @Test
    void anExistingRunIsNeverOverwritten() throws Exception {
        Path run = dir.resolve("old");
        Files.createDirectories(run.resolve("checkpoints"));
        Files.writeString(run.resolve("config.toml"), "[model]\n");
        usageError("already holds a run: continue it with 'twobp resume " + run.toAbsolutePath().normalize() + "'",
                new TrainCommand(CPU_ONLY), "--config", TINY, "--run-dir", run.toString());
        usageError("give --name or --run-dir, not both", new TrainCommand(CPU_ONLY), "--config", TINY, "--name", "a",
                "--run-dir", run.toString());
        usageError("--name a/b: use at most 200 letters", new TrainCommand(CPU_ONLY), "--config", TINY, "--name", "a/b");
        assertEquals("[model]\n", Files.readString(run.resolve("config.toml")));
    }

    @Test
    void resumeNeedsARunFolder() throws Exception {
        usageError("which run?", new ResumeCommand(CPU_ONLY));
        usageError("run folder " + dir.resolve("none") + " does not exist", new ResumeCommand(CPU_ONLY),
                dir.resolve("none").toString());
        Files.createDirectories(dir.resolve("empty"));
        usageError("is not a run folder: it has no config.toml", new ResumeCommand(CPU_ONLY),
                dir.resolve("empty").toString());
    }

    @Test
    void resumeChecksThatTheDataIsStillThere() throws Exception {
        Path text = Files.writeString(dir.resolve("corpus.txt"), "text to learn from. ".repeat(100));
        Path old = dir.resolve("old-run");
        ResolvedRun r = ResolvedRun.resolve("train", Path.of(TINY), List.of("train.data=text:" + text), 2, "2 ranks");
        new RunFolder(old).create("train", r, new RunFolder.Launch(RunFolder.Launch.LOCAL, 2, null));
        Files.delete(text);
        List<Path> before = HostileInputTest.list(old);
        usageError("data file not found: " + text, new ResumeCommand(CPU_ONLY), old.toString(), "--dry-run");
        assertEquals(before, HostileInputTest.list(old), "a refused resume changes nothing in the run folder");
    }

    @Test
    void unknownCommandsAndOptions() {
        Object[] r = run(new TrainCommand(CPU_ONLY), "--config", TINY, "--nprocs", "2");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("Unrecognized option: --nprocs"), (String) r[2]);
    }

    /** A config with its [train] data replaced, in the temp folder. */
    private String withData(String spec) throws Exception {
        Path cfg = dir.resolve("data-" + Integer.toHexString(spec.hashCode()) + ".toml");
        Files.writeString(cfg, Files.readString(Path.of(TINY)).replace("data = \"synthetic:addition\"",
                "data = " + org.twobp.worker.train.TomlWriter.quoted(spec)));
        return cfg.toString();
    }

    @Test
    void dataThatCannotBeReadIsFoundBeforeStart() throws Exception {
        Path missing = dir.resolve("no-such.bin");
        train("no-such.bin", "--config", TINY, "--set", "train.data=tokens:" + missing + "?dtype=uint16");
        submit("no-such.bin", "--config", TINY, "--nodes", "1", "--gpus-per-node", "0", "--time", "10", "--set",
                "train.data=tokens:" + missing + "?dtype=uint16");
        Path empty = Files.createFile(dir.resolve("empty.bin"));
        train("is empty (0 bytes)", "--config", TINY, "--set", "train.data=tokens:" + empty + "?dtype=uint16");
        Path odd = dir.resolve("odd.bin");
        Files.write(odd, new byte[1001]);
        train("not a whole number of uint16 tokens", "--config", TINY, "--set", "train.data=tokens:" + odd + "?dtype=uint16");
        train("needs the element type", "--config", TINY, "--set", "train.data=tokens:" + odd);
        train("must be auto, llmc or none", "--config", TINY, "--set", "train.data=tokens:" + odd + "?dtype=uint8&header=x");
        Path big = dir.resolve("big-ids.bin");
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(2 * 4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4096; i++) {
            b.putShort((short) (i == 3000 ? 999 : i % 200));
        }
        Files.write(big, b.array());
        train("999", "--config", TINY, "--set", "train.data=tokens:" + big + "?dtype=uint16");
        train("unknown data kind 'csv'", "--config", TINY, "--set", "train.data=csv:" + big);
        Path h5 = dir.resolve("tokens.h5");
        try (io.jhdf.WritableHdfFile f = io.jhdf.HdfFile.write(h5)) {
            f.putDataset("ids", new int[] {1, 2, 3, 4, 5, 6, 7, 8});
        }
        train("tokens", "--config", TINY, "--set", "train.data=hdf5:" + h5);
        train("data = \"text:", "--config", withData("text:" + dir.resolve("gone.txt")));
    }

    @Test
    void aGpuBackendOnAMachineWithoutOneIsFoundBeforeStart() {
        train("train.backend = \"cuda\" needs an NVIDIA GPU", "--config", TINY, "--set", "train.backend=cuda");
        train("train.precision = \"bf16\" needs a GPU", "--config", TINY, "--set", "train.precision=bf16");
        train("precision fp16 needs a GPU backend", "--config", TINY, "--set", "train.backend=cpu", "--set",
                "train.precision=fp16");
        // submit: the job's node decides; the spec must still parse
        submit("backend must be auto, cpu, cuda or cuda-emulated", "--config", TINY, "--nodes", "1", "--gpus-per-node",
                "1", "--time", "10", "--set", "train.backend=gpu");
        Object[] ok = run(new SubmitCommand(CPU_ONLY), "--config", TINY, "--nodes", "1", "--gpus-per-node", "1", "--time",
                "10", "--set", "train.backend=cuda", "--run-dir", runDir(), "--dry-run");
        assertEquals(0, ok[0], (String) ok[2]);
    }

    @Test
    void aDumpFolderThatCannotBeWrittenIsFoundBeforeStart() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        train("is a file, not a folder", "--config", TINY, "--dump-weights", file.toString());
        train("cannot be made", "--config", TINY, "--dump-weights", file.resolve("below").toString());
        submit("is a file, not a folder", "--config", TINY, "--nodes", "1", "--gpus-per-node", "0", "--time", "10",
                "--dump-weights", file.toString());
        if (!"root".equals(System.getProperty("user.name"))) {   // root writes anywhere
            Path ro = Files.createDirectories(dir.resolve("ro"));
            ro.toFile().setWritable(false);
            train("is not writable", "--config", TINY, "--dump-weights", ro.toString());
        }
        train("control character", "--config", TINY, "--dump-weights", dir.resolve("w\nx").toString());
    }

    @Test
    void unknownTablesAndStrayKeysAreRefused() throws Exception {
        Path typo = dir.resolve("pipelin.toml");
        Files.writeString(typo, Files.readString(Path.of(TINY)) + "\n[pipelin]\nschedule = \"gpipe\"\n");
        train("unknown table [pipelin] (did you mean [pipeline]?)", "--config", typo.toString());
        Path stray = dir.resolve("stray.toml");
        Files.writeString(stray, "steps = 3\n" + Files.readString(Path.of(TINY)));
        train("key 'steps' outside any table", "--config", stray.toString());
        submit("unknown table [pipelin]", "--config", typo.toString(), "--nodes", "1", "--gpus-per-node", "0", "--time",
                "10", "--dry-run");
    }

    @Test
    void noMpirunOnPathIsAUsageErrorWithTheFix() {
        Supplier<Environment> noMpi = () -> EnvironmentDetectionTest.env(Map.of("PATH", dir.toString()), 0);
        String key = "train --config TINY (PATH without mpirun)";
        TRIED.add(key);
        Object[] r = run(new TrainCommand(noMpi), "--config", TINY, "--run-dir", runDir());
        assertEquals(2, r[0], (String) r[2]);
        assertTrue(((String) r[2]).contains("mpirun is not on PATH") && ((String) r[2]).contains("apt-get install openmpi-bin"),
                (String) r[2]);
        assertFalse(Files.exists(dir.resolve("run")));
        REFUSED_CLEANLY.add(key);
    }

    @Test
    void badFaultSpecsAndRunFolders() {
        train("--fail-at 1:2: give RANK:STEP:ACTION", "--config", TINY, "--fail-at", "1:2");
        train("rank 5 does not exist in a run of 2 ranks", "--config", TINY, "--fail-at", "5:1:F");
        train("fault injection must be rank:step:action", "--config", TINY, "--fail-at", "1:2:Q");
        usageError("has a ':', which mpirun's --output-filename", new TrainCommand(CPU_ONLY), "--config", TINY,
                "--run-dir", dir.resolve("run:x").toString());
        usageError("has a control character (U+000A)", new TrainCommand(CPU_ONLY), "--config", TINY,
                "--run-dir", dir.resolve("run\nx").toString());
        usageError("has a backslash", new SubmitCommand(CPU_ONLY), "--config", TINY, "--nodes", "1", "--gpus-per-node",
                "0", "--time", "10", "--run-dir", dir.resolve("run\\x").toString());
        assertFalse(Files.exists(dir.resolve("run:x")) || Files.exists(dir.resolve("run\nx"))
                || Files.exists(dir.resolve("run\\x")));
    }

    @Test
    void slurmValuesThatWouldBreakTheScriptAreRefused() {
        submit("has a control character (U+000A), which would end the #SBATCH line", "--config", TINY, "--nodes", "1",
                "--gpus-per-node", "0", "--ntasks-per-node", "2", "--time", "00:03:00", "--steps", "3", "--partition",
                "debug\ntouch pwned");
        submit("--account 'a b': Slurm takes an account name", "--config", TINY, "--nodes", "1", "--gpus-per-node", "0",
                "--time", "10", "--account", "a b");
        submit("the job script sets --requeue itself", "--config", TINY, "--nodes", "1", "--gpus-per-node", "0", "--time",
                "10", "--sbatch=--no-requeue".replace("no-", ""));
        submit("use twobp submit --partition", "--config", TINY, "--nodes", "1", "--gpus-per-node", "0", "--time", "10",
                "--sbatch=--partition=x");
        submit("give one long sbatch option", "--config", TINY, "--nodes", "1", "--gpus-per-node", "0", "--time", "10",
                "--sbatch=-p x");
        // --dry-run runs the same checks
        submit("Slurm takes a partition name", "--config", TINY, "--nodes", "1", "--gpus-per-node", "0", "--time", "10",
                "--partition", "a;b", "--dry-run");
    }
}
