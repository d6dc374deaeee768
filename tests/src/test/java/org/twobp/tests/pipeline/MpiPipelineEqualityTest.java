package org.twobp.tests.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.twobp.tests.MpiRun;
import org.twobp.worker.pipeline.PipelineConfig;
import org.twobp.worker.pipeline.SingleProcessReference;
import org.twobp.worker.pipeline.WeightFiles;

/**
 * Pipeline training under real mpirun with 2 and 4 ranks, every schedule with and without 2BP,
 * leaves the weights of single-process training. Tolerances as in the worker's
 * PipelineEqualityTest: relative 1e-5 with SGD, 1e-3 with AdamW (Adam's division by the root
 * of the second moment amplifies last-bit differences of near-zero gradients).
 */
class MpiPipelineEqualityTest {

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
                    PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", c[1], "two_bp", c[2]));
                    Map<String, float[]> expected = SingleProcessReference.weightsAfter(PipelineEqualityMain.model(),
                            PipelineEqualityMain.train(c[0]), pipe, ranks, PipelineEqualityMain.STEPS);
                    double diff = SingleProcessReference.maxRelativeDifference(actual, expected);
                    double tolerance = c[0].equals("sgd") ? 1e-5 : 1e-3;
                    assertTrue(diff <= tolerance, PipelineEqualityMain.caseName(c) + " on " + ranks
                            + " ranks differs from single-process training by " + diff + " (tolerance " + tolerance + ")");
                }));
    }

    @TestFactory
    Stream<DynamicTest> everyScheduleOnTwoRanks() {
        return on(2);
    }

    @TestFactory
    Stream<DynamicTest> everyScheduleOnFourRanks() {
        return on(4);
    }
}
