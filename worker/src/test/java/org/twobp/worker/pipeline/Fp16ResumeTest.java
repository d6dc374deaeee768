package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.ThreadTransport;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.Backends;
import org.twobp.worker.model.Model;
import org.twobp.worker.train.TrainConfig;

/**
 * Resume is exact with float16 GEMM operands too: N steps straight equal K steps, a checkpoint,
 * a fresh trainer resuming from it and N - K more steps — the same weights bit for bit, the same
 * losses, the same steps skipped for overflow and the same loss scale at the end. Started at
 * 2^22 the loss scale overflows float16 for the first steps of this model, so the checkpoint at
 * step K holds a scale already halved: a resume that forgot it would start again from 2^22 and
 * skip steps the straight run did not.
 *
 * <p>Three thread ranks on the CUDA backend with its kernels on the host emulator, which runs a
 * kernel's blocks one after another on the calling thread, always in the same order, so two runs
 * of the same steps give the same bits, as on the CPU (a GPU may not: cuBLAS and atomics are
 * free to sum in another order per run).
 */
class Fp16ResumeTest {

    static final int RANKS = 3;
    static final int N = 6;
    static final int K = 2;
    static final float INITIAL_SCALE = 1 << 22;

    /** What a run leaves on rank 0 (every rank decides alike on the all-reduced norm) and every rank's weights. */
    record Outcome(Map<String, float[]> weights, Map<Integer, Double> losses, List<Integer> skippedSteps, float scale,
                   int goodSteps, int optimizerSteps) {
    }

    static RunConfig config() {
        Map<String, Object> v = new HashMap<>(Map.of("data", "synthetic:copy?length=4", "steps", (long) N,
                "batch_size", 2L, "micro_batches", 1L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "seed", 3L,
                "optimizer", "adamw"));
        v.put("backend", "cuda-emulated");
        v.put("precision", "fp16");
        v.put("loss_scale", (double) INITIAL_SCALE);
        return new RunConfig(PipelineEqualityTest.model(), TrainConfig.of(v),
                PipelineConfig.of(Map.of("schedule", "1f1b-1", "two_bp", true)), CheckpointConfig.of(Map.of()));
    }

    /** Runs up to step {@code to}, resuming from runDir first when asked and saving there at the end when asked. */
    static Outcome run(RunConfig cfg, int to, Path runDir, boolean resume, boolean save) {
        Map<String, float[]> weights = new ConcurrentHashMap<>();
        Outcome[] onRankZero = new Outcome[1];
        ThreadTransport.run(RANKS, t -> {
            t.setTimeout(Duration.ofSeconds(120));
            try (Backend backend = Backends.create(cfg.train().backend(), cfg.train().precision(), 1, 0, 1);
                 TokenDataset data = Datasets.open(cfg.train().data(), cfg.model().seqLen(), cfg.model().vocabSize(),
                         cfg.train().seed())) {
                PipelineTrainer trainer = new PipelineTrainer(t, cfg.model(), cfg.train(), cfg.pipeline(), backend, null);
                if (resume) {
                    assertEquals(false, StageCheckpoints.resume(trainer, runDir, "auto", data, false).fresh());
                }
                Map<Integer, Double> losses = new HashMap<>();
                List<Integer> skipped = new ArrayList<>();
                while (trainer.stepsDone() < to) {
                    long before = trainer.lossScaler().skipped();
                    PipelineStepResult r = trainer.step(data.next(trainer.globalBatchSize()));
                    losses.put(r.step(), r.loss());
                    if (trainer.lossScaler().skipped() > before) {
                        skipped.add(r.step());
                    }
                }
                if (save) {
                    StageCheckpoints.save(t, trainer, runDir, data, cfg);
                }
                for (Model m : trainer.models().values()) {
                    weights.putAll(SingleProcessReference.weights(m));
                }
                if (t.rank() == 0) {
                    onRankZero[0] = new Outcome(weights, losses, skipped, trainer.lossScaler().scale(),
                            trainer.lossScaler().goodSteps(), trainer.optimizers().get(0).steps());
                }
            }
        });
        Outcome o = onRankZero[0];
        return new Outcome(Map.copyOf(weights), o.losses(), o.skippedSteps(), o.scale(), o.goodSteps(),
                o.optimizerSteps());
    }

    @Test
    void resumedFloat16RunEqualsStraightRunWithTheSameSkippedSteps(@TempDir Path dir) {
        RunConfig cfg = config();
        Outcome straight = run(cfg, N, dir.resolve("straight"), false, false);
        Path runDir = dir.resolve("interrupted");
        Outcome first = run(cfg, K, runDir, false, true);
        Outcome second = run(cfg, N, runDir, true, false);
        System.out.printf("fp16 resume on %d ranks from loss scale 2^22: straight run skipped steps %s, scale %.0f at"
                + " step %d (saved), %.0f at the end%n", RANKS, straight.skippedSteps(), first.scale(), K,
                straight.scale());

        // the premise: the checkpoint holds a scale the initial one differs from, and steps after it still skip
        assertTrue(first.scale() < INITIAL_SCALE, "the first " + K + " steps must overflow at 2^22 for this test to show"
                + " anything; skipped " + first.skippedSteps());
        assertTrue(straight.skippedSteps().size() < N, "some steps must run: skipped " + straight.skippedSteps());

        List<Integer> resumedSkips = new ArrayList<>(first.skippedSteps());
        resumedSkips.addAll(second.skippedSteps());
        assertEquals(straight.skippedSteps(), resumedSkips, "steps skipped for overflow, straight vs stopped at step "
                + K + " and resumed");
        assertEquals(straight.scale(), second.scale(), "loss scale at the end");
        assertEquals(straight.goodSteps(), second.goodSteps(), "good steps counted towards the next growth");
        assertEquals(straight.optimizerSteps(), second.optimizerSteps(), "optimizer steps taken (AdamW's bias correction)");
        for (int s = K; s < N; s++) {
            assertEquals(straight.losses().get(s), second.losses().get(s), "loss of step " + s + " after resume");
        }
        assertEquals(straight.weights().keySet(), second.weights().keySet());
        for (String name : straight.weights().keySet()) {
            assertArrayEquals(straight.weights().get(name), second.weights().get(name),
                    name + " differs after resume (bitwise)");
        }
    }
}
