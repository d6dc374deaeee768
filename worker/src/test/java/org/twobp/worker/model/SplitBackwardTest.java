package org.twobp.worker.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.OpKind;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/** The properties 2BP rests on, at the level of whole stages. */
class SplitBackwardTest {

    private static final ModelConfig CFG = TinyModels.llama();
    /** Cut: stage 0 = embedding + blocks.0, stage 1 = blocks.1 + head. */
    private static final int CUT = 2;

    /** Runs one micro-batch through two stages; returns the gradient sent from stage 1 to stage 0. */
    private static float[] runTwoStages(CpuBackend be, Model s0, Model s1, MicroBatch mb, boolean fused) {
        StageContext c0 = s0.newContext();
        StageContext c1 = s1.newContext();
        Tensor out = s0.forward(c0, mb);
        be.copy(out, s1.inputBuffer(c1, mb));
        c0.releaseOutput();
        assertNull(s1.forward(c1, mb));
        Tensor dIn = fused ? s1.backward(c1) : s1.backwardInput(c1);
        float[] sent = be.toHost(dIn);
        be.copy(dIn, s0.outputGradBuffer(c0));
        c1.releaseInputGrad();
        assertNull(fused ? s0.backward(c0) : s0.backwardInput(c0));
        if (!fused) {
            s1.backwardWeight(c1);
            s0.backwardWeight(c0);
        }
        return sent;
    }

    @Test
    void p1IsBitIdenticalInFusedAndSplitModesAndGradientsAgree() {
        try (CpuBackend be = new CpuBackend(1)) {
            Model s0 = Model.create(CFG, be, 0, CUT);
            Model s1 = Model.create(CFG, be, CUT, CFG.blockCount());
            MicroBatch mb = TinyModels.batch(CFG, 0, 2, 3, 0);
            float[] split = runTwoStages(be, s0, s1, mb, false);
            float[] splitGrads0 = be.toHost(s0.parameters().grads());
            float[] splitGrads1 = be.toHost(s1.parameters().grads());
            s0.zeroGrads();
            s1.zeroGrads();
            float[] fused = runTwoStages(be, s0, s1, mb, true);
            assertArrayEquals(split, fused, "p1 output must be bit-identical in fused and split modes");
            assertArrayEquals(splitGrads0, be.toHost(s0.parameters().grads()));
            assertArrayEquals(splitGrads1, be.toHost(s1.parameters().grads()));
        }
    }

    @Test
    void stagesTogetherEqualTheWholeModel() {
        try (CpuBackend be = new CpuBackend(1)) {
            Model whole = Model.create(CFG, be);
            Model s0 = Model.create(CFG, be, 0, CUT);
            Model s1 = Model.create(CFG, be, CUT, CFG.blockCount());
            for (String name : List.of("embedding.tokens", "blocks.0.attn.wq")) {
                assertArrayEquals(be.toHost(whole.parameters().get(name).value()),
                        be.toHost(s0.parameters().get(name).value()), "same init for " + name + " in any cut");
            }
            MicroBatch mb = TinyModels.batch(CFG, 0, 2, 3, 0);
            StageContext c = whole.newContext();
            whole.forward(c, mb);
            whole.backward(c);
            runTwoStages(be, s0, s1, mb, false);
            for (var p : s0.parameters().list()) {
                assertClose(be.toHost(whole.parameters().get(p.name()).grad()), be.toHost(p.grad()), 0, p.name());
            }
            for (var p : s1.parameters().list()) {
                assertClose(be.toHost(whole.parameters().get(p.name()).grad()), be.toHost(p.grad()), 0, p.name());
            }
        }
    }

    @Test
    void p2OverConcatenatedMicroBatchesEqualsSumOfSingleP2() {
        int k = 3;
        try (CpuBackend be = new CpuBackend(1)) {
            Model model = Model.create(CFG, be);
            List<MicroBatch> mbs = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                mbs.add(TinyModels.batch(CFG, i, 2, 10 + i, 0));
            }
            // p1 of all, then one p2 over the k micro-batches
            List<StageContext> ctxs = new ArrayList<>();
            for (MicroBatch mb : mbs) {
                StageContext c = model.newContext();
                model.forward(c, mb);
                model.backwardInput(c);
                ctxs.add(c);
            }
            model.backwardWeight(ctxs);
            float[] together = be.toHost(model.parameters().grads());
            assertEquals(0, be.memory().current(MemoryCategory.STASH), "p2 frees the stash");
            assertEquals(0, be.memory().current(MemoryCategory.WORKSPACE), "p2 frees its concatenation workspace");
            model.zeroGrads();
            for (MicroBatch mb : mbs) {
                StageContext c = model.newContext();
                model.forward(c, mb);
                model.backwardInput(c);
                model.backwardWeight(c);
            }
            assertClose(be.toHost(model.parameters().grads()), together, 1e-5, "all gradients");
        }
    }

    @Test
    void microBatchesSumToTheWholeBatch() {
        try (CpuBackend be = new CpuBackend(1)) {
            Model model = Model.create(CFG, be);
            MicroBatch whole = TinyModels.batch(CFG, 0, 4, 5, 0);
            StageContext c = model.newContext();
            model.forward(c, whole);
            model.backward(c);
            float[] full = be.toHost(model.parameters().grads());
            double fullLoss = c.lossSum();
            model.zeroGrads();
            int half = whole.rows() / 2;
            double loss = 0;
            for (int i = 0; i < 2; i++) {
                MicroBatch part = new MicroBatch(i, 2, CFG.seqLen(),
                        java.util.Arrays.copyOfRange(whole.tokens(), i * half, (i + 1) * half),
                        java.util.Arrays.copyOfRange(whole.targets(), i * half, (i + 1) * half), whole.lossScale());
                StageContext pc = model.newContext();
                model.forward(pc, part);
                model.backwardInput(pc);
                model.backwardWeight(pc);
                loss += pc.lossSum();
            }
            assertEquals(fullLoss, loss, 1e-5 * Math.abs(fullLoss));
            assertClose(full, be.toHost(model.parameters().grads()), 1e-5, "gradients");
        }
    }

    @Test
    void stashIsAccountedAndMatchesTheCostModel() {
        try (CpuBackend be = new CpuBackend(1)) {
            Model model = Model.create(CFG, be);
            MicroBatch mb = TinyModels.batch(CFG, 0, 2, 3, 0);
            StageContext ctx = model.newContext();
            List<BlockCost> costs = model.costs(mb.batchSize(), mb.seqLen());
            model.forward(ctx, mb);
            for (int i = 0; i < costs.size(); i++) {
                assertEquals(costs.get(i).activationBytes(), ctx.blockContexts().get(i).memory().bytesHeld(),
                        "activations after forward of " + costs.get(i).block());
            }
            assertEquals(0, be.memory().current(MemoryCategory.STASH));
            model.backwardInput(ctx);
            for (int i = 0; i < costs.size(); i++) {
                assertEquals(costs.get(i).stashBytes(), ctx.blockContexts().get(i).memory().bytesHeld(),
                        "stash after p1 of " + costs.get(i).block());
            }
            assertEquals(ctx.stashBytes(), be.memory().current(MemoryCategory.STASH));
            assertEquals(0, be.memory().current(MemoryCategory.ACTIVATIONS), "p1 frees the p1-only activations");
            model.backwardWeight(ctx);
            assertEquals(0, ctx.bytesHeld());
            assertEquals(0, be.memory().current(MemoryCategory.STASH));
            assertEquals(0, be.memory().current(MemoryCategory.ACTIVATIONS));
            assertTrue(be.memory().peak(MemoryCategory.STASH) > 0);

            // fused: nothing is ever stash
            be.memory().resetPeaks();
            long stashPeakBefore = be.memory().peak(MemoryCategory.STASH);
            model.forward(ctx, mb);
            model.backward(ctx);
            assertEquals(0, stashPeakBefore);
            assertEquals(0, be.memory().peak(MemoryCategory.STASH), "the fused backward keeps no stash");
            assertEquals(0, ctx.bytesHeld());
        }
    }

    @Test
    void costModelCountsExactlyTheGemmFlopsExecuted() {
        for (ModelConfig cfg : List.of(CFG, TinyModels.config("layernorm", "gelu"))) {
            try (CpuBackend be = new CpuBackend(1)) {
                Model model = Model.create(cfg, be);
                MicroBatch mb = TinyModels.batch(cfg, 0, 3, 3, 0);
                List<BlockCost> costs = model.costs(mb.batchSize(), mb.seqLen());
                StageContext ctx = model.newContext();
                long f0 = be.stats().flops(OpKind.GEMM);
                model.forward(ctx, mb);
                long f1 = be.stats().flops(OpKind.GEMM);
                model.backwardInput(ctx);
                long f2 = be.stats().flops(OpKind.GEMM);
                model.backwardWeight(ctx);
                long f3 = be.stats().flops(OpKind.GEMM);
                assertEquals(costs.stream().mapToLong(BlockCost::forwardFlops).sum(), f1 - f0, "F");
                assertEquals(costs.stream().mapToLong(BlockCost::p1Flops).sum(), f2 - f1, "p1");
                assertEquals(costs.stream().mapToLong(BlockCost::p2Flops).sum(), f3 - f2, "p2");
                assertEquals(model.parameterCount(), costs.stream().mapToLong(BlockCost::parameters).sum());
            }
        }
    }

    @Test
    void outOfOrderCallsAreRejectedWithTheMicroBatchNamed() {
        try (CpuBackend be = new CpuBackend(1)) {
            Model model = Model.create(CFG, be);
            MicroBatch mb = TinyModels.batch(CFG, 4, 2, 3, 0);
            StageContext ctx = model.newContext();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.backwardWeight(ctx));
            model.forward(ctx, mb);
            e = assertThrows(IllegalStateException.class, () -> model.forward(ctx, mb));
            assertTrue(e.getMessage().contains("micro-batch 4"), e.getMessage());
            model.backwardInput(ctx);
            assertThrows(IllegalStateException.class, () -> model.backward(ctx));
            model.backwardWeight(ctx);
        }
    }

    private static void assertClose(float[] want, float[] got, double rel, String what) {
        assertEquals(want.length, got.length);
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], rel * scale, what + " element " + i);
        }
    }
}
