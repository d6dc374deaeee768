package org.twobp.worker.model;

import org.twobp.worker.testing.ReferenceFixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Group;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.Parameter;

/**
 * Forward and backward of the tiny models against PyTorch, from the committed fixtures that
 * tests/reference/make_fixtures.py wrote (weights, batch, float64 logits, loss and every
 * parameter gradient). The model loads the fixture's float32 weights by name.
 *
 * <p>Tolerance: for each tensor, max |java - torch| / max |torch| <= 1e-4 (the Java side
 * computes in float32 against a float64 reference).
 */
class PyTorchReferenceTest {

    static final double TOLERANCE = 1e-4;


    private static Object attr(Group g, String name) {
        Attribute a = g.getAttribute(name);
        Object v = a.getData();
        return v.getClass().isArray() ? java.lang.reflect.Array.get(v, 0) : v;
    }

    private static int intAttr(Group g, String name) {
        return ((Number) attr(g, name)).intValue();
    }

    private static double doubleAttr(Group g, String name) {
        return ((Number) attr(g, name)).doubleValue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-layernorm-gelu"})
    void matchesPyTorch(String name) {
        try (HdfFile h5 = new HdfFile(ReferenceFixtures.fixture(name)); CpuBackend be = new CpuBackend(1)) {
            Group c = (Group) h5.getByPath("config");
            ModelConfig cfg = new ModelConfig(name, intAttr(c, "dim"), intAttr(c, "n_layers"), intAttr(c, "n_heads"),
                    intAttr(c, "n_kv_heads"), intAttr(c, "ffn_hidden"), intAttr(c, "vocab_size"), intAttr(c, "seq_len"),
                    doubleAttr(c, "rope_theta"), doubleAttr(c, "norm_eps"), 0, 0.02, attr(c, "norm").toString(),
                    attr(c, "mlp").toString());
            int batch = intAttr(c, "batch_size");
            Model model = Model.create(cfg, be);
            int loaded = 0;
            for (Parameter p : model.parameters().list()) {
                float[] w = (float[]) h5.getDatasetByPath("params/" + p.name()).getDataFlat();
                assertEquals(p.size(), w.length, "size of " + p.name());
                be.copyFromHost(w, 0, p.value());
                loaded++;
            }
            assertEquals(((Group) h5.getByPath("params")).getChildren().size(), loaded,
                    "the fixture and the model have the same parameters");
            int[] tokens = (int[]) h5.getDatasetByPath("batch/tokens").getDataFlat();
            int[] targets = (int[]) h5.getDatasetByPath("batch/targets").getDataFlat();
            MicroBatch probe = new MicroBatch(0, batch, cfg.seqLen(), tokens, targets, 1f);
            MicroBatch mb = new MicroBatch(0, batch, cfg.seqLen(), tokens, targets, 1f / probe.scoredTargets());

            StageContext ctx = model.newContext();
            ctx.captureLogits(true);
            model.zeroGrads();
            model.forward(ctx, mb);
            model.backwardInput(ctx);
            model.backwardWeight(ctx);

            double loss = ((double[]) h5.getDatasetByPath("loss").getDataFlat())[0];
            assertEquals(loss, ctx.lossSum() * mb.lossScale(), TOLERANCE * Math.abs(loss), "loss");
            double worst = compare("logits", (double[]) h5.getDatasetByPath("logits").getDataFlat(), ctx.logits());
            for (Parameter p : model.parameters().list()) {
                double[] want = (double[]) h5.getDatasetByPath("grads/" + p.name()).getDataFlat();
                worst = Math.max(worst, compare("gradient of " + p.name(), want, be.toHost(p.grad())));
            }
            System.out.printf("%s vs PyTorch: loss %.6f (torch %.6f), worst normalised error %.2e%n", name,
                    ctx.lossSum() * mb.lossScale(), loss, worst);
        }
    }

    private static double compare(String what, double[] want, float[] got) {
        assertEquals(want.length, got.length, what + ": length");
        double scale = 0;
        double err = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            err = Math.max(err, Math.abs(want[i] - got[i]));
        }
        assertTrue(scale > 0, what + " is all zeros in the fixture");
        double rel = err / scale;
        assertTrue(rel <= TOLERANCE, what + ": max |java - torch| / max |torch| = " + rel + " > " + TOLERANCE);
        return rel;
    }
}
