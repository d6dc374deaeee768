package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.MicroBatch;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.model.StageContext;
import org.twobp.worker.optim.AdamW;
import org.twobp.worker.tensor.Tensor;

/**
 * The whole model on the CUDA backend against the CPU backend: two pipeline stages, two
 * micro-batches, forward, p1 (the gradient sent upstream), one p2 over both micro-batches
 * (2BP's concatenated weight gradient), and one AdamW step. Tolerance: 1e-4 of each tensor's
 * largest magnitude for activations, gradients and updated weights in float32 (only the order of
 * sums differs); with bf16 GEMM operands the loss agrees within 2e-2 relative and the gradients
 * point the same way (cosine > 0.99).
 */
class ModelParityTest {

    private static final int CUT = 2;

    private static ModelConfig config(String norm, String mlp) {
        // dim 32, 3 blocks, 4 heads sharing 2 key/value heads, vocabulary 37, 12 positions
        return new ModelConfig("parity", 32, 3, 4, 2, 48, 37, 12, 10000.0, 1e-5, 5, 0.3, norm, mlp);
    }

    private static MicroBatch batch(ModelConfig cfg, int index, long seed) {
        int n = 2 * cfg.seqLen();
        int[] tokens = new int[n];
        int[] targets = new int[n];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            tokens[i] = rng.nextInt(cfg.vocabSize());
            targets[i] = i % 7 == 3 ? MicroBatch.IGNORE : rng.nextInt(cfg.vocabSize());
        }
        return new MicroBatch(index, 2, cfg.seqLen(), tokens, targets, 1f / (2 * n));
    }

    /** What one training step produced on one backend. */
    private record Run(List<float[]> stageOutputs, List<float[]> sentGradients, double loss, float[] grads0,
                       float[] grads1, float[] weights0, float[] weights1) {
    }

    private static Run step(Backend be, ModelConfig cfg) {
        Model s0 = Model.create(cfg, be, 0, CUT);
        Model s1 = Model.create(cfg, be, CUT, cfg.blockCount());
        List<MicroBatch> mbs = List.of(batch(cfg, 0, 11), batch(cfg, 1, 12));
        List<StageContext> c0 = new ArrayList<>();
        List<StageContext> c1 = new ArrayList<>();
        List<float[]> outs = new ArrayList<>();
        List<float[]> sent = new ArrayList<>();
        double loss = 0;
        for (MicroBatch mb : mbs) {
            StageContext a = s0.newContext();
            StageContext b = s1.newContext();
            Tensor out = s0.forward(a, mb);
            outs.add(be.toHost(out));
            be.copy(out, s1.inputBuffer(b, mb));
            a.releaseOutput();
            assertNull(s1.forward(b, mb));
            loss += b.lossSum();
            c0.add(a);
            c1.add(b);
        }
        for (int i = 0; i < mbs.size(); i++) {
            Tensor dIn = s1.backwardInput(c1.get(i));
            sent.add(be.toHost(dIn));
            be.copy(dIn, s0.outputGradBuffer(c0.get(i)));
            c1.get(i).releaseInputGrad();
            assertNull(s0.backwardInput(c0.get(i)));
        }
        s1.backwardWeight(c1);
        s0.backwardWeight(c0);
        float[] g0 = be.toHost(s0.parameters().grads());
        float[] g1 = be.toHost(s1.parameters().grads());
        AdamW o0 = new AdamW(be, s0.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f);
        AdamW o1 = new AdamW(be, s1.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f);
        o0.step(1e-2f, 1f);
        o1.step(1e-2f, 1f);
        be.synchronize();
        return new Run(outs, sent, loss, g0, g1, be.toHost(s0.parameters().params()), be.toHost(s1.parameters().params()));
    }

    @ParameterizedTest
    @CsvSource({"emulated,rmsnorm,swiglu", "emulated,layernorm,gelu", "gpu,rmsnorm,swiglu", "gpu,layernorm,gelu"})
    void float32StepMatchesTheCpu(String target, String norm, String mlp) {
        ModelConfig cfg = config(norm, mlp);
        Run cpu;
        try (CpuBackend be = new CpuBackend(1)) {
            cpu = step(be, cfg);
        }
        Run gpu;
        try (CudaBackend be = CudaTargets.backend(target, Precision.FP32)) {
            gpu = step(be, cfg);
            assertEquals(0, be.memory().current(org.twobp.worker.tensor.MemoryCategory.STASH), "p2 freed the stash");
            assertTrue(be.memory().peak(org.twobp.worker.tensor.MemoryCategory.STASH) > 0, "the stash was counted");
        }
        float tol = 1e-4f;
        for (int i = 0; i < cpu.stageOutputs.size(); i++) {
            BackendPair.assertClose(cpu.stageOutputs.get(i), gpu.stageOutputs.get(i), tol, "stage 0 output " + i);
            BackendPair.assertClose(cpu.sentGradients.get(i), gpu.sentGradients.get(i), tol, "p1 gradient " + i);
        }
        assertEquals(cpu.loss, gpu.loss, 1e-5 * Math.abs(cpu.loss), "loss");
        BackendPair.assertClose(cpu.grads0, gpu.grads0, tol, "p2 gradients of stage 0");
        BackendPair.assertClose(cpu.grads1, gpu.grads1, tol, "p2 gradients of stage 1");
        BackendPair.assertClose(cpu.weights0, gpu.weights0, tol, "weights of stage 0 after AdamW");
        BackendPair.assertClose(cpu.weights1, gpu.weights1, tol, "weights of stage 1 after AdamW");
    }

    @ParameterizedTest
    @CsvSource({"emulated", "gpu"})
    void bf16StepStaysCloseToFloat32(String target) {
        ModelConfig cfg = config("rmsnorm", "swiglu");
        Run cpu;
        try (CpuBackend be = new CpuBackend(1)) {
            cpu = step(be, cfg);
        }
        Run gpu;
        try (CudaBackend be = CudaTargets.backend(target, Precision.BF16)) {
            gpu = step(be, cfg);
        }
        assertEquals(cpu.loss, gpu.loss, 2e-2 * Math.abs(cpu.loss), "loss with bf16 GEMM operands");
        assertTrue(cosine(cpu.grads0, gpu.grads0) > 0.99, "stage 0 gradient direction: " + cosine(cpu.grads0, gpu.grads0));
        assertTrue(cosine(cpu.grads1, gpu.grads1) > 0.99, "stage 1 gradient direction: " + cosine(cpu.grads1, gpu.grads1));
        boolean differs = false;
        for (int i = 0; i < cpu.grads1.length; i++) {
            differs |= cpu.grads1[i] != gpu.grads1[i];
        }
        assertTrue(differs, "bf16 operands must change the gradients somewhere");
    }

    private static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

}
