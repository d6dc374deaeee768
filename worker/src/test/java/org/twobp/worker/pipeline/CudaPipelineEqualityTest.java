package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.twobp.worker.backend.Backends;
import org.twobp.worker.train.TrainConfig;

/**
 * Pipeline training with every rank on the CUDA backend (its kernels on the host emulator; the
 * GPU itself is tested where there is one) leaves the weights of single-process CPU training:
 * activations and gradients cross ranks through the backend's transfer buffers, p2 runs
 * concatenated, the optimizer updates on the device. Tolerances as in {@link PipelineEqualityTest}
 * (the kernels sum in another order than the CPU loops, as the pipeline does already).
 */
class CudaPipelineEqualityTest {

    @ParameterizedTest(name = "P={0} {1} 2BP={2} {3}")
    @CsvSource({"2,1f1b-1,true,sgd", "2,gpipe,false,adamw", "3,zb-v,true,sgd", "4,zb-h1,true,adamw",
            "4,1f1b-2,true,sgd"})
    void cudaPipelineEqualsSingleProcessCpu(int ranks, String schedule, boolean twoBp, String optimizer) {
        check("cuda-emulated", ranks, schedule, twoBp, optimizer);
    }

    /** The same with every rank on the one GPU of the machine (ranks share it, as in a 4-rank test on one card). */
    @ParameterizedTest(name = "GPU P={0} {1} 2BP={2} {3}")
    @CsvSource({"2,1f1b-1,true,sgd", "3,zb-v,true,sgd", "4,zb-h1,true,adamw", "4,1f1b-2,true,sgd"})
    void ranksSharingOneGpuEqualSingleProcessCpu(int ranks, String schedule, boolean twoBp, String optimizer) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Backends.gpuPresent(), "no GPU on this machine");
        check("cuda", ranks, schedule, twoBp, optimizer);
    }

    /**
     * With fp16 overflow (2^22 is too large for this model's gradients) every rank skips the same
     * steps (they decide on the all-reduced norm) and keeps one scale; on 3 ranks the middle one too.
     */
    @ParameterizedTest(name = "P={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3})
    void float16OverflowIsSkippedOnEveryRankAlike(int ranks) {
        Map<String, Object> v = new java.util.HashMap<>(Map.of("data", "synthetic:copy?length=4", "steps", 8L,
                "batch_size", 2L, "micro_batches", 1L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "seed", 3L));
        v.put("precision", "fp16");
        v.put("loss_scale", (double) (1 << 22));
        TrainConfig train = TrainConfig.of(v);
        PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", "1f1b-1", "two_bp", true));
        long[][] seen = new long[ranks][];
        org.twobp.mpi.ThreadTransport.run(ranks, t -> {
            try (org.twobp.worker.backend.Backend be = Backends.create("cuda-emulated", "fp16", 1, 0, 1);
                 org.twobp.datasets.TokenDataset data = org.twobp.datasets.Datasets.open(train.data(),
                         PipelineEqualityTest.model().seqLen(), PipelineEqualityTest.model().vocabSize(), train.seed())) {
                PipelineTrainer trainer = new PipelineTrainer(t, PipelineEqualityTest.model(), train, pipe, be, null);
                for (int s = 0; s < train.steps(); s++) {
                    trainer.step(data.next(trainer.globalBatchSize()));
                }
                int steps = trainer.optimizers().values().iterator().next().steps();
                seen[t.rank()] = new long[] {trainer.lossScaler().skipped(), steps,
                        (long) trainer.lossScaler().scale()};
            }
        });
        System.out.printf("fp16 pipeline from loss scale 2^22 on %d ranks: skipped %d of 8 steps on rank 0%n", ranks,
                seen[0][0]);
        assertTrue(seen[0][0] > 0 && seen[0][0] < 8, "the start scale overflows float16, a lower one does not: skipped "
                + seen[0][0] + " of 8");
        for (int r = 1; r < ranks; r++) {
            assertTrue(java.util.Arrays.equals(seen[0], seen[r]), "ranks 0 and " + r + " disagree (skipped, optimizer"
                    + " steps, scale): " + java.util.Arrays.toString(seen[0]) + " vs " + java.util.Arrays.toString(seen[r]));
        }
        assertTrue(seen[0][1] == 8 - seen[0][0], "optimizer steps = steps - skipped");
    }

    private static void check(String backend, int ranks, String schedule, boolean twoBp, String optimizer) {
        PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", schedule, "two_bp", twoBp));
        TrainConfig train = PipelineEqualityTest.train(optimizer);
        Map<String, float[]> weights = PipelineEqualityTest.runPipeline(PipelineEqualityTest.model(), train, pipe, ranks,
                PipelineEqualityTest.STEPS, () -> Backends.create(backend, "fp32", 1, 0, 1));
        Map<String, float[]> expected = SingleProcessReference.weightsAfter(PipelineEqualityTest.model(), train, pipe,
                ranks, PipelineEqualityTest.STEPS);
        double diff = SingleProcessReference.maxRelativeDifference(weights, expected);
        double tolerance = optimizer.equals("sgd") ? PipelineEqualityTest.SGD_TOLERANCE : PipelineEqualityTest.ADAMW_TOLERANCE;
        System.out.printf("%s pipeline P=%d %s 2BP=%s %s: max relative weight difference %.2e (tolerance %.0e)%n",
                backend, ranks, schedule, twoBp, optimizer, diff, tolerance);
        assertTrue(diff <= tolerance, "P=" + ranks + " " + schedule + " 2BP=" + twoBp + " " + optimizer
                + " on the CUDA backend: weights differ from single-process CPU training by " + diff + ", tolerance "
                + tolerance);
    }
}
