package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.twobp.worker.pipeline.RunConfig;

/**
 * A corpus of hostile values (newline, {@code $(...)}, backticks, ';', quotes, tabs, spaces, '..',
 * unicode, a 4 KiB string, ...) through every user-facing option that reaches a file or a script.
 * Each case either is refused with exit 2 and a message, writing nothing, or is written and read
 * back identical: the resolved config.toml gives the same settings, launch.toml the same dump
 * folder, and the job script, run by bash with stand-ins for mpirun and scontrol, hands the ranks
 * exactly the paths given. No case may run a command of its own: every {@code touch} in the
 * corpus aims at one marker file, which must never appear.
 *
 * <p>The job is submitted through a stand-in {@code sbatch} on the PATH of a faked environment,
 * so the whole of {@code twobp submit} runs, writes included. (Slurm's own reading of the #SBATCH
 * lines is checked end to end by the Slurm tests of the tests module.)
 */
class HostileInputTest {

    static Path dir;
    static Path marker;
    static Path stubs;
    static List<String> corpus;
    static int refused;
    static int roundTripped;

    @BeforeAll
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("twobp-hostile");
        marker = dir.resolve("pwned");
        stubs = Files.createDirectories(dir.resolve("stubs"));
        String m = marker.toString();
        corpus = List.of("line\nbreak", "cr\rreturn", "$(touch " + m + ")", "`touch " + m + "`", "a;touch " + m,
                "a && touch " + m, "single'quote", "double\"quote", "tab\there", "with space", "..", "../..",
                "ünïcødé-名前", "x".repeat(4096), "back\\slash", "hash #comment", "pct %j %x", "dollar $HOME",
                "glob *", "{{RUN_DIR}}", "nul\u0000byte", "-dash-first", "",
                "synthetic:addition\"\n[model]\ndim = 128\n#", "x\"y.txt", "a\tb.txt");
        stub("sbatch", "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + Shell.quote(dir.resolve("sbatch.args").toString())
                + "\necho 4242\n");
        stub("mpirun", "#!/bin/sh\nprintf '%s\\0' \"$@\" > " + Shell.quote(dir.resolve("mpirun.args").toString()) + "\n");
        stub("scontrol", "#!/bin/sh\nexit 0\n");
    }

    @AfterAll
    static void report() {
        System.out.println("hostile corpus: " + corpus.size() + " values, " + (refused + roundTripped) + " cases: "
                + refused + " refused with exit 2 (nothing written), " + roundTripped
                + " written and read back identical, 0 executed");
    }

    private static void stub(String name, String text) throws IOException {
        Path p = stubs.resolve(name);
        Files.writeString(p, text);
        p.toFile().setExecutable(true);
    }

    static Supplier<Environment> env() {
        return () -> EnvironmentDetectionTest.env(Map.of("PATH", stubs + ":" + System.getenv("PATH")), 0);
    }

    /** One option given a hostile value: the extra arguments, and the run folder it writes when accepted. */
    record Case(String option, String value, List<String> args, Path runDir) {
    }

    static final String TINY = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();
    static final List<String> SUBMIT = List.of("--nodes", "1", "--gpus-per-node", "0", "--ntasks-per-node", "2",
            "--time", "00:03:00");

    @Test
    void everyOptionThatReachesAFileOrAScript() throws Exception {
        int i = 0;
        List<String> failures = new ArrayList<>();
        for (String v : corpus) {
            for (Function<Path, Case> c : cases(v)) {
                Path base = Files.createDirectories(dir.resolve("case-" + i++));
                Case k = c.apply(base);
                try {
                    check(k, base);
                } catch (AssertionError e) {
                    failures.add(k.option() + " " + Shell.quote(k.value()).replace("\n", "\\n") + ": " + e.getMessage());
                }
            }
        }
        assertFalse(Files.exists(marker), "a hostile value was executed: " + marker + " exists");
        assertTrue(failures.isEmpty(), failures.size() + " case(s) failed:\n" + String.join("\n", failures));
        assertTrue(refused > 0 && roundTripped > 0, "the corpus must exercise both outcomes");
    }

    /** Every option of 'twobp submit' that reaches the run folder, the config or the job script. */
    static List<Function<Path, Case>> cases(String v) {
        List<Function<Path, Case>> l = new ArrayList<>();
        l.add(b -> new Case("--partition", v, List.of("--partition", v), b.resolve("run")));
        l.add(b -> new Case("--account", v, List.of("--account", v), b.resolve("run")));
        l.add(b -> new Case("--sbatch=--comment=", v, List.of("--sbatch=--comment=" + v), b.resolve("run")));
        l.add(b -> new Case("--sbatch", v, List.of("--sbatch=" + v), b.resolve("run")));
        l.add(b -> new Case("--run-dir", v, List.of(), b.resolve("run")));
        l.add(b -> new Case("--name", v, List.of("--name", v), null));
        l.add(b -> new Case("--config (file name)", v, List.of(), null));
        l.add(b -> new Case("--set train.data=text:", v, List.of("--set", "train.data=text:" + b + "/" + v),
                b.resolve("run")));
        l.add(b -> new Case("--set train.data=", v, List.of("--set", "train.data=" + v), b.resolve("run")));
        l.add(b -> new Case("--set pipeline.partition=", v, List.of("--set", "pipeline.partition=" + v), b.resolve("run")));
        l.add(b -> new Case("--set pipeline.schedule=", v, List.of("--set", "pipeline.schedule=" + v), b.resolve("run")));
        l.add(b -> new Case("--set train.backend=", v, List.of("--set", "train.backend=" + v), b.resolve("run")));
        l.add(b -> new Case("--dump-weights", v, List.of("--dump-weights", b + "/w/" + v),
                b.resolve("run")));
        l.add(b -> new Case("--fail-at", v, List.of("--fail-at", v), b.resolve("run")));
        l.add(b -> new Case("--time", v, List.of("--time", v), b.resolve("run")));
        l.add(b -> new Case("--launch", v, List.of("--launch", v), b.resolve("run")));
        return l;
    }

    void check(Case k, Path base) throws Exception {
        List<String> args = new ArrayList<>();
        String config = TINY;
        if (k.option().startsWith("--config")) {
            try {
                config = base + "/" + k.value() + ".toml";
                Files.copy(Path.of(TINY), Path.of(config));
            } catch (IOException | RuntimeException e) {
                config = base + "/" + k.value() + ".toml";   // a name no file can have: refused as missing
            }
        }
        if (k.option().equals("--set train.data=text:")) {
            try {
                Files.writeString(Path.of(base + "/" + k.value()), "some text to train on. ".repeat(200));
            } catch (IOException | RuntimeException e) {
                // a name no file can have: the data check refuses it
            }
        }
        args.addAll(List.of("--config", config));
        args.addAll(SUBMIT.stream().filter(a -> !(k.option().equals("--time") && (a.equals("--time") || a.equals("00:03:00"))))
                .toList());
        args.addAll(k.args());
        Path runs = Path.of("runs").toAbsolutePath();
        List<Path> runsBefore = list(runs);
        if (k.runDir() != null) {
            args.addAll(List.of("--run-dir", k.option().equals("--run-dir") ? base + "/" + k.value() : k.runDir().toString()));
        }
        List<Path> before = list(base);
        Object[] r = BadInputTest.run(new SubmitCommand(env()), args.toArray(String[]::new));
        int code = (int) r[0];
        String out = (String) r[1];
        String err = (String) r[2];
        assertFalse(Files.exists(marker), "executed");
        if (code == 2) {
            assertTrue(err.startsWith("twobp submit: ") && err.contains("see: twobp submit --help"), err);
            assertEquals(before, list(base), "a refused input wrote into " + base);
            assertEquals(runsBefore, list(runs), "a refused input wrote a run folder");
            refused++;
            return;
        }
        assertEquals(0, code, "neither refused (2) nor accepted (0): " + err);
        Matcher m = Pattern.compile("submitted job 4242: run folder (.*)\n").matcher(out);
        assertTrue(m.find(), out);
        Path run = Path.of(m.group(1));
        try {
            readBack(run, config, args, k);
        } finally {
            if (run.startsWith(runs)) {
                deleteTree(run);
            }
        }
        roundTripped++;
    }

    /** The files of an accepted case give back exactly what was typed; the job script runs nothing else. */
    void readBack(Path run, String config, List<String> args, Case k) throws Exception {
        // the config: read back, it is the configuration the launcher resolved
        List<String> sets = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals("--set")) {
                sets.add(args.get(i + 1));
            }
        }
        RunConfig expected = ResolvedRun.resolve("submit", Path.of(config), sets, 2, "2 ranks").config();
        RunConfig back = RunConfig.load(run.resolve("config.toml"), Map.of());
        assertEquals(expected, back, "config.toml read back");
        // launch.toml
        RunFolder.Launch launch = new RunFolder(run).readLaunch("test");
        int d = args.indexOf("--dump-weights");
        String dump = d < 0 ? null : Path.of(args.get(d + 1)).normalize().toString();
        assertEquals(dump, launch.dumpWeights(), "launch.toml read back");
        // sbatch got the script, whose #SBATCH block is whole: no line lost or added
        assertEquals(List.of("--parsable", run.resolve("job.sbatch").toString()),
                Files.readAllLines(dir.resolve("sbatch.args")), "sbatch's arguments");
        String script = Files.readString(run.resolve("job.sbatch"));
        List<String> lines = Arrays.asList(script.split("\n", -1));
        int first = lines.indexOf(lines.stream().filter(l -> l.startsWith("#SBATCH")).findFirst().orElseThrow());
        int n = 0;
        while (lines.get(first + n).startsWith("#SBATCH --")) {
            n++;
        }
        assertTrue(lines.get(first + n).isEmpty(), "the #SBATCH block ends with a blank line: " + lines.get(first + n));
        List<String> block = lines.subList(first, first + n);
        for (String o : List.of("--requeue", "--open-mode=append", "--signal=B:USR1@", "--output=", "--chdir=")) {
            assertTrue(block.stream().anyMatch(l -> l.startsWith("#SBATCH " + o)), o + " missing from " + block);
        }
        // job-name nodes ntasks ntasks-per-node time output open-mode requeue signal chdir, and the one option given
        int expectedLines = 10 + (List.of("--partition", "--account").contains(k.option())
                || k.option().startsWith("--sbatch") ? 1 : 0);
        assertEquals(expectedLines, n, "#SBATCH lines: " + block);
        // the script itself, run by bash: the ranks' command gets the paths as they are
        Files.deleteIfExists(dir.resolve("mpirun.args"));
        ProcessBuilder pb = new ProcessBuilder("bash", run.resolve("job.sbatch").toString()).redirectErrorStream(true)
                .directory(dir.toFile());
        pb.environment().put("PATH", stubs + ":" + System.getenv("PATH"));
        pb.environment().put("SLURM_JOB_ID", "4242");
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the job script did not end");
        assertEquals(0, p.exitValue(), output);
        List<String> argv = Arrays.asList(Files.readString(dir.resolve("mpirun.args")).split("\0", -1));
        int c = argv.indexOf("--config");
        assertEquals(run.resolve("config.toml").toString(), argv.get(c + 1), "--config as the ranks get it");
        assertEquals(run.toString(), argv.get(argv.indexOf("--run-dir") + 1), "--run-dir as the ranks get it");
        if (dump != null) {
            assertEquals(dump, argv.get(argv.indexOf("--dump-weights") + 1), "--dump-weights as the ranks get it");
        }
        int f = args.indexOf("--fail-at");
        if (f >= 0) {
            assertEquals(args.get(f + 1), argv.get(argv.indexOf("--fail-at") + 1));
        }
    }

    static List<Path> list(Path p) throws IOException {
        if (!Files.exists(p)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(p)) {
            return s.sorted().toList();
        }
    }

    static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
