package org.twobp.tests.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.twobp.tests.MpiRun;
import org.twobp.worker.pipeline.WeightFiles;

/**
 * Under mpirun: a run asked to stop (the STOP file, as the job script's signal trap would
 * create it) checkpoints and exits 0; resumed, it ends with exactly the weights of a run that
 * was never interrupted. On 2 ranks and on 3 (a middle stage sends and receives both ways, and
 * must agree with both neighbours on the step to stop after).
 */
class MpiStopResumeTest {

    private static final String CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();
    private static final String MAIN = "org.twobp.worker.pipeline.WorkerMain";

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3})
    void stoppedAndResumedRunEqualsAnUninterruptedOneBitForBit(int ranks, @TempDir Path dir) throws Exception {
        String[] common = {"--config", CONFIG, "--steps", "12", "--set", "pipeline.schedule=zb-h1", "--set",
                "train.threads=1"};
        Path straight = dir.resolve("straight");
        MpiRun.Result a = MpiRun.run(ranks, 120, MAIN, concat(common, "--run-dir", straight.toString(), "--dump-weights",
                straight.resolve("weights").toString()));
        assertEquals(0, a.exitCode(), a.output());

        Path interrupted = dir.resolve("interrupted");
        Files.createDirectories(interrupted);
        Files.writeString(interrupted.resolve("STOP"), "");
        MpiRun.Result b1 = MpiRun.run(ranks, 120, MAIN, concat(common, "--run-dir", interrupted.toString()));
        assertEquals(0, b1.exitCode(), b1.output());
        assertTrue(b1.output().contains("[twobp] stopping after step 1 (stop file"), b1.output());
        assertTrue(Files.exists(interrupted.resolve("checkpoints/step-1/manifest.txt")), "checkpoint of step 1");
        assertTrue(!Files.exists(interrupted.resolve("STOP")), "the served STOP file is removed");

        MpiRun.Result b2 = MpiRun.run(ranks, 120, MAIN, concat(common, "--run-dir", interrupted.toString(), "--dump-weights",
                interrupted.resolve("weights").toString()));
        assertEquals(0, b2.exitCode(), b2.output());
        assertTrue(b2.output().contains("(step 1)") && b2.output().contains("resume    from"), b2.output());

        Map<String, float[]> expected = WeightFiles.read(straight.resolve("weights"));
        Map<String, float[]> actual = WeightFiles.read(interrupted.resolve("weights"));
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            assertArrayEquals(expected.get(name), actual.get(name), name + " differs after stop and resume");
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
