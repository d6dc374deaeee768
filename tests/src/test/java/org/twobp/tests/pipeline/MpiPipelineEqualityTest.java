package org.twobp.tests.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.twobp.tests.MpiRun;
import org.twobp.worker.pipeline.SingleProcessReference;
import org.twobp.worker.pipeline.WeightFiles;

/**
 * Pipeline training under real mpirun with 2, 3 and 4 ranks, every schedule with and without
 * 2BP, clipped and (SGD) unclipped, leaves the weights and reports the per-step losses of
 * single-process training. Tolerances as in the worker's PipelineEqualityTest: weights relative
 * 1e-5 with SGD, 1e-3 with AdamW (Adam's division by the root of the second moment amplifies
 * last-bit differences of near-zero gradients); losses relative 1e-6.
 */
class MpiPipelineEqualityTest {

    private static final double LOSS_TOLERANCE = 1e-6;
    private static final Map<Integer, Path> RUNS = new HashMap<>();

    private static synchronized Path run(int ranks) {
        return RUNS.computeIfAbsent(ranks, n -> {
            try {
                Path dir = Files.createTempDirectory("twobp-equality-" + n);
                MpiRun.Result r = MpiRun.run(n, 300, PipelineEqualityMain.class.getName(), dir.toString());
                assertEquals(0, r.exitCode(), "mpirun -np " + n + " failed:\n" + r.output());
                return dir;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static Stream<DynamicTest> on(int ranks) {
        return PipelineEqualityMain.cases().stream().map(c -> DynamicTest.dynamicTest(
                PipelineEqualityMain.caseName(c) + " on " + ranks + " MPI ranks", () -> {
                    Path dir = run(ranks).resolve(PipelineEqualityMain.caseName(c));
                    Map<String, float[]> actual = WeightFiles.read(dir);
                    SingleProcessReference.Run expected = SingleProcessReference.run(PipelineEqualityMain.model(),
                            PipelineEqualityMain.train(c), PipelineEqualityMain.pipeline(c), ranks,
                            PipelineEqualityMain.STEPS);
                    String what = PipelineEqualityMain.caseName(c) + " on " + ranks + " ranks";
                    double diff = SingleProcessReference.maxRelativeDifference(actual, expected.weights());
                    double tolerance = c[0].equals("sgd") ? 1e-5 : 1e-3;
                    assertTrue(diff <= tolerance, what + ": weights differ from single-process training by " + diff
                            + " (tolerance " + tolerance + ")");
                    List<Double> losses = PipelineEqualityMain.readLosses(dir);
                    double lossDiff = SingleProcessReference.maxRelativeLossDifference(losses, expected.losses());
                    assertTrue(lossDiff <= LOSS_TOLERANCE, what + ": losses " + losses + " differ from single-process "
                            + expected.losses() + " by " + lossDiff + " (tolerance " + LOSS_TOLERANCE + ")");
                }));
    }

    @TestFactory
    Stream<DynamicTest> everyScheduleOnTwoRanks() {
        return on(2);
    }

    /** A middle stage with both neighbours. */
    @TestFactory
    Stream<DynamicTest> everyScheduleOnThreeRanks() {
        return on(3);
    }

    @TestFactory
    Stream<DynamicTest> everyScheduleOnFourRanks() {
        return on(4);
    }
}
