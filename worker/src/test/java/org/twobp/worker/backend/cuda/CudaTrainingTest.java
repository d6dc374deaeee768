package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.train.StepResult;
import org.twobp.worker.train.TrainConfig;
import org.twobp.worker.train.Trainer;

/**
 * Training steps on the CUDA backend: the losses follow the CPU backend's step by step (within
 * 1e-4 relative over 6 AdamW steps with 2BP's split backward and 2 micro-batches), and after
 * the first step every buffer comes from the caching allocator: the driver's allocator is not
 * called again.
 */
class CudaTrainingTest {

    private static final ModelConfig MODEL =
            new ModelConfig("cuda-train", 32, 2, 4, 2, 48, 16, 12, 10000.0, 1e-5, 9, 0.1, "rmsnorm", "swiglu");
    private static final TrainConfig TRAIN = TrainConfig.of(Map.of("data", "synthetic:copy?length=4", "steps", 6L,
            "batch_size", 4L, "micro_batches", 2L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "seed", 5L));

    private static List<Double> losses(Backend be, long[] driverCalls) {
        List<Double> out = new ArrayList<>();
        try (TokenDataset data = Datasets.open(TRAIN.data(), MODEL.seqLen(), MODEL.vocabSize(), TRAIN.seed())) {
            Trainer t = new Trainer(MODEL, TRAIN, be);
            for (int s = 0; s < TRAIN.steps(); s++) {
                StepResult r = t.step(data.next(TRAIN.batchSize()));
                out.add(r.loss());
                if (driverCalls != null && be instanceof CudaBackend cb) {
                    driverCalls[s] = cb.driverAllocations();
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void lossesFollowTheCpuAndTheAllocatorStopsCallingTheDriver(String target) {
        List<Double> cpu;
        try (CpuBackend be = new CpuBackend(1)) {
            cpu = losses(be, null);
        }
        long[] calls = new long[TRAIN.steps()];
        List<Double> gpu;
        try (CudaBackend be = CudaTargets.backend(target, Precision.FP32)) {
            gpu = losses(be, calls);
        }
        for (int s = 0; s < cpu.size(); s++) {
            assertEquals(cpu.get(s), gpu.get(s), 1e-4 * cpu.get(s), "loss of step " + (s + 1));
        }
        assertTrue(cpu.get(cpu.size() - 1) < cpu.get(0), "the model learns (else equal losses show little)");
        for (int s = 2; s < calls.length; s++) {
            assertEquals(calls[1], calls[s], "driver allocations after step " + (s + 1) + " (step 2: " + calls[1] + ")");
        }
    }
}
