package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.ThreadTransport;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.Model;
import org.twobp.worker.schedule.gen.ScheduleFamily;

/**
 * N steps straight leave the same weights, bit for bit, as k steps, a checkpoint, a fresh
 * process (new trainer, new data reader) resuming from it, and N - k more steps: for every
 * schedule, with and without 2BP.
 */
class ExactResumeTest {

    static final int N = 4;
    static final int K = 2;

    static RunConfig config(String schedule, boolean twoBp) {
        return new RunConfig(PipelineEqualityTest.model(), PipelineEqualityTest.train("adamw"),
                PipelineConfig.of(Map.of("schedule", schedule, "two_bp", twoBp)),
                CheckpointConfig.of(Map.of()));
    }

    static Stream<Arguments> cases() {
        return Stream.of(2, 3, 4).flatMap(p -> Stream.of(ScheduleFamily.values())
                .flatMap(f -> Stream.of(true, false).map(b -> Arguments.of(p, f.cliName(), b))));
    }

    /** Runs steps [from, to) on thread ranks, resuming from runDir when from > 0 and saving at the end when save. */
    static Map<String, float[]> run(RunConfig cfg, int ranks, int to, Path runDir, boolean resume, boolean save) {
        Map<String, float[]> weights = new ConcurrentHashMap<>();
        ThreadTransport.run(ranks, t -> {
            t.setTimeout(Duration.ofSeconds(60));
            try (CpuBackend backend = new CpuBackend(1);
                 TokenDataset data = Datasets.open(cfg.train().data(), cfg.model().seqLen(), cfg.model().vocabSize(),
                         cfg.train().seed())) {
                PipelineTrainer trainer = new PipelineTrainer(t, cfg.model(), cfg.train(), cfg.pipeline(), backend, null);
                if (resume) {
                    assertEquals(false, StageCheckpoints.resume(trainer, runDir, "auto", data, false).fresh());
                }
                while (trainer.stepsDone() < to) {
                    trainer.step(data.next(trainer.globalBatchSize()));
                }
                if (save) {
                    StageCheckpoints.save(t, trainer, runDir, data, cfg);
                }
                for (Model m : trainer.models().values()) {
                    weights.putAll(SingleProcessReference.weights(m));
                }
            }
        });
        return weights;
    }

    @ParameterizedTest(name = "P={0} {1} 2BP={2}")
    @MethodSource("cases")
    void resumedRunEqualsStraightRunBitForBit(int ranks, String schedule, boolean twoBp, @TempDir Path dir) {
        RunConfig cfg = config(schedule, twoBp);
        Map<String, float[]> straight = run(cfg, ranks, N, dir.resolve("straight"), false, false);
        Path runDir = dir.resolve("interrupted");
        run(cfg, ranks, K, runDir, false, true);
        Map<String, float[]> resumed = run(cfg, ranks, N, runDir, true, false);
        assertEquals(straight.keySet(), resumed.keySet());
        for (String name : straight.keySet()) {
            assertArrayEquals(straight.get(name), resumed.get(name), name + " differs after resume (bitwise)");
        }
    }

    /** Saved on one stage count, loaded on another: every weight as saved (a middle stage moves too). */
    @ParameterizedTest(name = "{0} stages into {1}")
    @CsvSource({"2,4", "4,3", "3,2"})
    void aCheckpointLoadsIntoAnotherStageCount(int savedOn, int loadedOn, @TempDir Path dir) {
        RunConfig cfg = config("1f1b-1", true);
        Map<String, float[]> saved = run(cfg, savedOn, K, dir, false, true);
        Map<String, float[]> loaded = run(cfg, loadedOn, K, dir, true, false); // resumed at step K, no further steps
        assertEquals(saved.keySet(), loaded.keySet());
        for (String name : saved.keySet()) {
            assertArrayEquals(saved.get(name), loaded.get(name), name);
        }
        assertTrue(Files.exists(dir.resolve("checkpoints/step-" + K + "/manifest.txt")), "the manifest is written");
    }

    /**
     * A 4-stage checkpoint continued on 4, 3, 2 and 1 ranks: the same weights within the pipeline
     * equality tolerance (different stage cuts only reorder floating-point sums).
     */
    @Test
    void aFourStageCheckpointContinuesOnThreeTwoAndOneStages(@TempDir Path dir) throws Exception {
        RunConfig cfg = config("1f1b-1", true);
        // the same global batch on every layout: 4 micro-batches of the same size
        RunConfig fixedM = new RunConfig(cfg.model(), cfg.train(),
                PipelineConfig.of(Map.of("schedule", "1f1b-1", "two_bp", true, "microbatches", 4L)), cfg.checkpoint());
        Path saved = dir.resolve("p4");
        run(fixedM, 4, K, saved, false, true);
        Map<String, float[]> onFour = null;
        for (int ranks : new int[] {4, 3, 2, 1}) {
            Path copy = dir.resolve("continue-" + ranks);
            copyTree(saved, copy);
            Map<String, float[]> w = run(fixedM, ranks, N, copy, true, false);
            if (onFour == null) {
                onFour = w;
            } else {
                double diff = SingleProcessReference.maxRelativeDifference(w, onFour);
                assertTrue(diff <= PipelineEqualityTest.ADAMW_TOLERANCE, ranks + " stages differ from 4 by " + diff);
            }
        }
    }

    static void copyTree(Path from, Path to) throws java.io.IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    @Test
    void aDifferentModelShapeIsRefusedWithWhatDiffers(@TempDir Path dir) {
        run(config("1f1b-1", true), 2, 1, dir, false, true);
        RunConfig other = new RunConfig(new org.twobp.worker.model.ModelConfig("pipeline-test", 64, 6, 4, 2, 48, 16, 12,
                10000.0, 1e-5, 7, 0.1, "rmsnorm", "swiglu"), PipelineEqualityTest.train("adamw"),
                PipelineConfig.of(Map.of()), CheckpointConfig.of(Map.of()));
        RuntimeException e = assertThrows(RuntimeException.class, () -> run(other, 2, 1, dir, true, false));
        String msg = String.valueOf(e.getMessage()) + (e.getCause() == null ? "" : e.getCause().getMessage());
        assertTrue(msg.contains("dim") || msg.contains("shape"), msg);
    }
}
