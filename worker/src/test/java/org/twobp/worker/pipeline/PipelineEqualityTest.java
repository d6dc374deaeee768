package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.ThreadTransport;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.train.TrainConfig;

/**
 * Pipeline training over P thread ranks, for every schedule with and without 2BP, leaves the
 * same weights as single-process training of the same model, data and global batch.
 *
 * <p>Only the order of floating-point sums differs (p2 over different micro-batch groups, the
 * gradient norm summed per stage), so the tolerance is stated per optimizer, as the largest
 * difference of any weight relative to the largest weight of its tensor after 3 steps:
 * <ul>
 *   <li>SGD with momentum: 1e-5 — the update is linear in the gradient, so this bounds the
 *       gradients themselves;</li>
 *   <li>AdamW: 1e-3 — Adam divides by the root of the second moment, so for weights whose
 *       gradient is near zero a last-bit difference in a sum moves the update by up to the
 *       learning rate (measured here: at most 1.4e-4).</li>
 * </ul>
 */
class PipelineEqualityTest {

    static final double SGD_TOLERANCE = 1e-5;
    static final double ADAMW_TOLERANCE = 1e-3;
    static final int STEPS = 3;

    /** 6 transformer blocks: 8 blocks in all, enough for 4 ranks x 2 chunks. */
    static ModelConfig model() {
        return new ModelConfig("pipeline-test", 32, 6, 4, 2, 48, 16, 12, 10000.0, 1e-5, 7, 0.1, "rmsnorm", "swiglu");
    }

    static TrainConfig train(String optimizer) {
        return TrainConfig.of(Map.of("data", "synthetic:copy?length=4", "steps", 10L, "batch_size", 2L,
                "micro_batches", 1L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "grad_clip", 1.0, "seed", 3L,
                "optimizer", optimizer));
    }

    static Stream<Arguments> cases() {
        return Stream.of("sgd", "adamw").flatMap(opt -> Stream.of(1, 2, 4).flatMap(p -> Stream.of(ScheduleFamily.values())
                .flatMap(f -> Stream.of(true, false).map(twoBp -> Arguments.of(p, f.cliName(), twoBp, opt)))));
    }

    private static final Map<String, Map<String, float[]>> REFERENCES = new ConcurrentHashMap<>();

    @ParameterizedTest(name = "P={0} {1} 2BP={2} {3}")
    @MethodSource("cases")
    void pipelineEqualsSingleProcess(int ranks, String schedule, boolean twoBp, String optimizer) {
        PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", schedule, "two_bp", twoBp));
        TrainConfig train = train(optimizer);
        Map<String, float[]> weights = runPipeline(model(), train, pipe, ranks, STEPS);
        int m = pipe.microbatches(ranks);
        Map<String, float[]> expected = REFERENCES.computeIfAbsent(optimizer + "/" + ranks + "/" + m,
                k -> SingleProcessReference.weightsAfter(model(), train, pipe, ranks, STEPS));
        double diff = SingleProcessReference.maxRelativeDifference(weights, expected);
        double tolerance = optimizer.equals("sgd") ? SGD_TOLERANCE : ADAMW_TOLERANCE;
        assertTrue(diff <= tolerance, "P=" + ranks + " " + schedule + " 2BP=" + twoBp + " " + optimizer
                + ": weights differ from single-process training by " + diff + " (relative), tolerance " + tolerance);
    }

    /** Runs {@code steps} pipeline steps on thread ranks; returns every rank's weights by name. */
    static Map<String, float[]> runPipeline(ModelConfig model, TrainConfig train, PipelineConfig pipe, int ranks, int steps) {
        return runPipeline(model, train, pipe, ranks, steps, () -> new CpuBackend(1));
    }

    /** The same on the backends {@code backends} makes, one per rank. */
    static Map<String, float[]> runPipeline(ModelConfig model, TrainConfig train, PipelineConfig pipe, int ranks, int steps,
                                            java.util.function.Supplier<Backend> backends) {
        Map<String, float[]> weights = new ConcurrentHashMap<>();
        ThreadTransport.run(ranks, t -> {
            t.setTimeout(Duration.ofSeconds(60));
            try (Backend backend = backends.get();
                 TokenDataset data = Datasets.open(train.data(), model.seqLen(), model.vocabSize(), train.seed())) {
                PipelineTrainer trainer = new PipelineTrainer(t, model, train, pipe, backend, null);
                for (int s = 0; s < steps; s++) {
                    trainer.step(data.next(trainer.globalBatchSize()));
                }
                for (Model m : trainer.models().values()) {
                    weights.putAll(SingleProcessReference.weights(m));
                }
            }
        });
        return weights;
    }
}
