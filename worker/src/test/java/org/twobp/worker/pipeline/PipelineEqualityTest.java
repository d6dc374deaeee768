package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
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
 * same weights and reports the same per-step losses as single-process training of the same
 * model, data and global batch.
 *
 * <p>Two settings of gradient clipping run. At {@code grad_clip = 1.0} every step is clipped
 * (this model's gradient norms are 6-9), so the update is g / |g| and a bug that scales every
 * gradient alike (a wrong 1/M micro-batch average) cancels out; those cases check clipping with
 * a global norm summed over stages. Without clipping ({@code grad_clip = 0}) SGD's update is
 * linear in the gradient, so any wrong factor moves the weights and every loss after the
 * first. AdamW divides by the root of the second moment and so sees a uniform factor only
 * through its epsilon; its unclipped cases check the rest.
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
 * The losses agree within {@value #LOSS_TOLERANCE} relative (measured: at most 7e-8): the first
 * is computed from equal weights, the later ones from weights that differ only in the last bits.
 */
class PipelineEqualityTest {

    static final double SGD_TOLERANCE = 1e-5;
    static final double ADAMW_TOLERANCE = 1e-3;
    static final double LOSS_TOLERANCE = 1e-6;
    static final int STEPS = 3;

    /** 6 transformer blocks: 8 blocks in all, enough for 4 ranks x 2 chunks. */
    static ModelConfig model() {
        return new ModelConfig("pipeline-test", 32, 6, 4, 2, 48, 16, 12, 10000.0, 1e-5, 7, 0.1, "rmsnorm", "swiglu");
    }

    static TrainConfig train(String optimizer) {
        return train(optimizer, 1.0);
    }

    /** {@code gradClip} 0: no clipping. */
    static TrainConfig train(String optimizer, double gradClip) {
        return TrainConfig.of(Map.of("data", "synthetic:copy?length=4", "steps", 10L, "batch_size", 2L,
                "micro_batches", 1L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "grad_clip", gradClip, "seed", 3L,
                "optimizer", optimizer));
    }

    /** Every schedule, both forms, on {@code ranks}. */
    private static Stream<Arguments> everySchedule(String optimizer, double gradClip, int... ranks) {
        return Arrays.stream(ranks).boxed().flatMap(p -> Stream.of(ScheduleFamily.values())
                .flatMap(f -> Stream.of(true, false).map(twoBp -> Arguments.of(p, f.cliName(), twoBp, optimizer,
                        gradClip))));
    }

    /** Clipped: both optimizers on 1 to 4 ranks. Unclipped: SGD on 2 to 4 ranks, AdamW on 3 (a middle stage). */
    static Stream<Arguments> cases() {
        return Stream.of(everySchedule("sgd", 1.0, 1, 2, 3, 4), everySchedule("adamw", 1.0, 1, 2, 3, 4),
                everySchedule("sgd", 0, 2, 3, 4), everySchedule("adamw", 0, 3)).flatMap(c -> c);
    }

    private static final Map<String, SingleProcessReference.Run> REFERENCES = new ConcurrentHashMap<>();

    @ParameterizedTest(name = "P={0} {1} 2BP={2} {3} grad_clip={4}")
    @MethodSource("cases")
    void pipelineEqualsSingleProcess(int ranks, String schedule, boolean twoBp, String optimizer, double gradClip) {
        PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", schedule, "two_bp", twoBp));
        TrainConfig train = train(optimizer, gradClip);
        SingleProcessReference.Run run = runPipelineWithLosses(model(), train, pipe, ranks, STEPS,
                () -> new CpuBackend(1));
        int m = pipe.microbatches(ranks);
        SingleProcessReference.Run expected = REFERENCES.computeIfAbsent(optimizer + "/" + gradClip + "/" + ranks
                + "/" + m, k -> SingleProcessReference.run(model(), train, pipe, ranks, STEPS));
        String what = "P=" + ranks + " " + schedule + " 2BP=" + twoBp + " " + optimizer + " grad_clip=" + gradClip;
        double diff = SingleProcessReference.maxRelativeDifference(run.weights(), expected.weights());
        double tolerance = optimizer.equals("sgd") ? SGD_TOLERANCE : ADAMW_TOLERANCE;
        assertTrue(diff <= tolerance, what + ": weights differ from single-process training by " + diff
                + " (relative), tolerance " + tolerance);
        double lossDiff = SingleProcessReference.maxRelativeLossDifference(run.losses(), expected.losses());
        if (System.getProperty("twobp.test.report") != null) {   // -Dtwobp.test.report=1 lists every comparison
            System.out.printf("equality %-48s weights %.2e (bound %.0e), losses %.2e (bound %.0e)%n", what, diff,
                    tolerance, lossDiff, LOSS_TOLERANCE);
        }
        assertTrue(lossDiff <= LOSS_TOLERANCE, what + ": losses " + run.losses() + " differ from single-process "
                + expected.losses() + " by " + lossDiff + " (relative), tolerance " + LOSS_TOLERANCE);
    }

    /** Runs {@code steps} pipeline steps on thread ranks; returns every rank's weights by name. */
    static Map<String, float[]> runPipeline(ModelConfig model, TrainConfig train, PipelineConfig pipe, int ranks, int steps) {
        return runPipeline(model, train, pipe, ranks, steps, () -> new CpuBackend(1));
    }

    /** The same on the backends {@code backends} makes, one per rank. */
    static Map<String, float[]> runPipeline(ModelConfig model, TrainConfig train, PipelineConfig pipe, int ranks, int steps,
                                            Supplier<Backend> backends) {
        return runPipelineWithLosses(model, train, pipe, ranks, steps, backends).weights();
    }

    /** Every rank's weights by name, and the loss of each step as the ranks agree on it. */
    static SingleProcessReference.Run runPipelineWithLosses(ModelConfig model, TrainConfig train, PipelineConfig pipe,
                                                            int ranks, int steps,
                                                            Supplier<Backend> backends) {
        Map<String, float[]> weights = new ConcurrentHashMap<>();
        List<Double> losses = new CopyOnWriteArrayList<>();
        ThreadTransport.run(ranks, t -> {
            t.setTimeout(Duration.ofSeconds(60));
            try (Backend backend = backends.get();
                 TokenDataset data = Datasets.open(train.data(), model.seqLen(), model.vocabSize(), train.seed())) {
                PipelineTrainer trainer = new PipelineTrainer(t, model, train, pipe, backend, null);
                for (int s = 0; s < steps; s++) {
                    double loss = trainer.step(data.next(trainer.globalBatchSize())).loss();
                    if (t.rank() == 0) {
                        losses.add(loss);
                    }
                }
                for (Model m : trainer.models().values()) {
                    weights.putAll(SingleProcessReference.weights(m));
                }
            }
        });
        return new SingleProcessReference.Run(weights, List.copyOf(losses));
    }
}
