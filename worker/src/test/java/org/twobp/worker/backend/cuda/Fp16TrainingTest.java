package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.train.StepResult;
import org.twobp.worker.train.TrainConfig;
import org.twobp.worker.train.Trainer;

/**
 * float16 GEMM operands with dynamic loss scaling. At the default scale (2^16) nothing overflows
 * and the losses follow float32 CPU training within 2e-2 relative; started at 2^26 the scaled
 * loss gradient exceeds float16's 65504, so the first steps are skipped (no optimizer step) and
 * the scale halves until the gradients fit, after which training goes on.
 */
class Fp16TrainingTest {

    private static final ModelConfig MODEL =
            new ModelConfig("fp16-train", 32, 2, 4, 2, 48, 16, 12, 10000.0, 1e-5, 9, 0.1, "rmsnorm", "swiglu");

    private static TrainConfig train(double lossScale, int steps) {
        Map<String, Object> v = new HashMap<>(Map.of("data", "synthetic:copy?length=4", "steps", (long) steps,
                "batch_size", 4L, "micro_batches", 2L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "seed", 5L));
        v.put("backend", "cuda-emulated");
        v.put("precision", "fp16");
        v.put("loss_scale", lossScale);
        return TrainConfig.of(v);
    }

    private static List<Double> run(org.twobp.worker.backend.Backend be, TrainConfig train, Trainer[] out) {
        List<Double> losses = new ArrayList<>();
        try (TokenDataset data = Datasets.open(train.data(), MODEL.seqLen(), MODEL.vocabSize(), train.seed())) {
            Trainer t = new Trainer(MODEL, train, be);
            for (int s = 0; s < train.steps(); s++) {
                StepResult r = t.step(data.next(train.batchSize()));
                losses.add(r.loss());
            }
            out[0] = t;
        }
        return losses;
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void defaultScaleFollowsFloat32(String target) {
        TrainConfig fp16 = train(0, 6);
        Trainer[] t = new Trainer[1];
        List<Double> cpu;
        try (CpuBackend be = new CpuBackend(1)) {
            cpu = run(be, fp16, t);       // the CPU computes float32 whatever the precision says
        }
        List<Double> half;
        try (CudaBackend be = CudaTargets.backend(target, Precision.FP16)) {
            half = run(be, fp16, t);
        }
        assertEquals(0, t[0].lossScaler().skipped(), "nothing overflows at 2^16");
        assertEquals(6, t[0].optimizer().steps());
        for (int s = 0; s < cpu.size(); s++) {
            assertEquals(cpu.get(s), half.get(s), 2e-2 * cpu.get(s), "loss of step " + (s + 1));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"emulated", "gpu"})
    void overflowSkipsStepsAndLowersTheScale(String target) {
        float initial = 1 << 26;
        TrainConfig fp16 = train(initial, 10);
        Trainer[] t = new Trainer[1];
        List<Double> losses;
        try (CudaBackend be = CudaTargets.backend(target, Precision.FP16)) {
            losses = run(be, fp16, t);
        }
        long skipped = t[0].lossScaler().skipped();
        System.out.printf("fp16 from loss scale 2^26: %d of 10 steps skipped, scale now %.0f, loss %.3f -> %.3f%n",
                skipped, t[0].lossScaler().scale(), losses.get(0), losses.get(9));
        assertTrue(skipped >= 1 && skipped < 10, "steps skipped for overflow: " + skipped);
        assertEquals(10 - skipped, t[0].optimizer().steps(), "a skipped step does not move the optimizer");
        assertEquals(initial / (1L << skipped), t[0].lossScaler().scale(), "halved once per skipped step");
        assertTrue(losses.get(9) < losses.get(0), "training goes on after the skips: " + losses);
    }
}
