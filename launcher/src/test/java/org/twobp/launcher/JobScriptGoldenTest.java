package org.twobp.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.ParseException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Job scripts for several shapes match the committed golden files in
 * {@code src/test/resources/golden/}. After a deliberate change to the template or the
 * generator, regenerate them with
 * {@code mvn -o -pl launcher test -Dtest=JobScriptGoldenTest -Dgolden.update=true} and review the diff.
 */
class JobScriptGoldenTest {

    static final Path GOLDEN = Path.of("src", "test", "resources", "golden");
    static final Site SITE = new Site("/usr/lib/jvm/java-17/bin/java", "/opt/twobp/launcher/target/lib/*",
            "/opt/openmpi/lib:/usr/lib/jni", Path.of("/opt/twobp"));

    /** name, config, submit arguments (besides --config), extra worker arguments. */
    static final List<Object[]> SHAPES = List.of(
            new Object[] {"cpu-1node-2ranks", "llama-tiny.toml",
                    "--nodes 1 --gpus-per-node 0 --ntasks-per-node 2 --time 00:01:00 --signal-margin 50", List.of()},
            new Object[] {"gpu-2nodes-4gpus", "llama-small.toml",
                    "--nodes 2 --gpus-per-node 4 --cpus-per-task 8 --time 04:00:00 --partition gpu --account proj42",
                    List.of()},
            new Object[] {"gpu-5nodes-srun", "llama-small.toml",
                    "--nodes 5 --gpus-per-node 2 --time 2-00:00:00 --launch srun --max-restarts 10 --signal-margin 600"
                            + " --sbatch=--qos=high --sbatch=--exclusive", List.of()},
            new Object[] {"cpu-4nodes-weights", "llama-tiny.toml",
                    "--nodes 4 --gpus-per-node 0 --time 30 --max-restarts 0", List.of("--dump-weights",
                    "/scratch/weights dir")});

    static JobShape shape(String args) throws ParseException {
        CommandLine cl = new DefaultParser().parse(SubmitCommand.options(), args.split(" "));
        return SubmitCommand.shape("submit", cl);
    }

    @SuppressWarnings("unchecked")
    static String render(Object[] c) throws Exception {
        JobShape shape = shape((String) c[2]);
        Path config = Path.of("..", "configs", (String) c[1]);
        ResolvedRun run = ResolvedRun.resolve("submit", config, List.of(), shape.ranks(), shape.describeRanks());
        RunFolder folder = new RunFolder(Path.of("/scratch/runs", (String) c[0]));
        return JobScript.render(JobScript.builtInTemplate(), new JobScript.Inputs(SITE, folder, folder.name(),
                run.finalStep(), shape, (List<String>) c[3]));
    }

    @TestFactory
    Stream<DynamicTest> jobScriptsMatchGoldenFiles() {
        boolean update = Boolean.getBoolean("golden.update");
        return SHAPES.stream().map(c -> DynamicTest.dynamicTest((String) c[0], () -> {
            String script = render(c);
            Path golden = GOLDEN.resolve(c[0] + ".sbatch");
            if (update) {
                Files.createDirectories(GOLDEN);
                Files.writeString(golden, script, StandardCharsets.UTF_8);
            }
            assertTrue(Files.exists(golden), "no golden file " + golden + "; create it with -Dgolden.update=true");
            assertEquals(Files.readString(golden, StandardCharsets.UTF_8), script, "job script for " + c[0]
                    + " differs from " + golden + " (after a deliberate change: -Dgolden.update=true, then review)");
        }));
    }

    @Test
    void everyShapeHasTheWallTimeSafetyNet() throws Exception {
        for (Object[] c : SHAPES) {
            String s = render(c);
            assertTrue(s.contains("#SBATCH --open-mode=append\n#SBATCH --requeue\n#SBATCH --signal=B:USR1@"), s);
            assertTrue(s.contains("trap on_usr1 USR1"), s);
            assertTrue(s.contains("scontrol requeue \"$JOB\""), s);
            // the ranks run in the background: bash would defer the trap behind a foreground command
            assertTrue(s.contains(" &\nranks=$!\nwhile kill -0"), s);
            assertFalse(s.contains("{{"), s);
        }
    }

    @Test
    void theTemplateIsBashThatParses() throws Exception {
        for (Object[] c : SHAPES) {
            Path f = Files.createTempFile("job", ".sbatch");
            Files.writeString(f, render(c));
            Process p = new ProcessBuilder("bash", "-n", f.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), c[0] + ": bash -n says\n" + out);
            Files.delete(f);
        }
    }

    @Test
    void shapesAndOptionsOnTheScript() throws Exception {
        String gpu = render(SHAPES.get(1));
        assertTrue(gpu.contains("#SBATCH --nodes=2\n#SBATCH --ntasks=8\n#SBATCH --ntasks-per-node=4\n"
                + "#SBATCH --gpus-per-node=4\n#SBATCH --cpus-per-task=8\n#SBATCH --time=04:00:00\n"
                + "#SBATCH --partition=gpu\n#SBATCH --account=proj42\n"), gpu);
        assertTrue(gpu.contains("--signal=B:USR1@120"), "default lead time: 120 s");
        String srun = render(SHAPES.get(2));
        assertTrue(srun.contains("srun --mpi=pmix --kill-on-bad-exit=1 --label"), srun);
        assertTrue(srun.contains("#SBATCH --time=2-00:00:00") && srun.contains("#SBATCH --qos=high"), srun);
        String cpu = render(SHAPES.get(3));
        assertTrue(cpu.contains("--signal=B:USR1@120") && cpu.contains("#SBATCH --time=00:30:00"), cpu);
        assertTrue(cpu.contains("--dump-weights '/scratch/weights dir'"), cpu);
        assertTrue(cpu.contains("MAX_RESTARTS=0"), cpu);
    }

    @Test
    void aSiteTemplateWithAnUnknownPlaceholderIsRefused() throws Exception {
        JobShape shape = shape("--nodes 1 --gpus-per-node 1 --time 10");
        List<String> none = new ArrayList<>();
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> JobScript.render("#!/bin/bash\n{{SBATCH}}\nmodule load {{MODULES}}\n", new JobScript.Inputs(SITE,
                        new RunFolder(Path.of("/r")), "r", 10, shape, none)));
        assertTrue(e.getMessage().contains("{{MODULES}}"), e.getMessage());
    }

    @Test
    void theInstalledTemplateIsTheOneInTheJar() throws IOException {
        assertEquals(Files.readString(Path.of("..", "slurm", JobScript.TEMPLATE)), JobScript.builtInTemplate());
    }
}
