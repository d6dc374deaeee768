package org.twobp.worker.model;

import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.testing.GradCheck;

/**
 * Finite differences of the whole model's loss against the gradients of forward + p1 + p2,
 * for every parameter tensor (sampled elements), in float32 (tolerance in {@link GradCheck}).
 * The step is 3e-3 rather than 1e-2: through two blocks of weights with std 0.3 the truncation
 * error of a 1e-2 step reaches ~1e-3 (it shrinks as eps^2, so it is not a gradient error).
 */
class ModelGradientTest {

    private static void check(ModelConfig cfg) {
        try (CpuBackend be = new CpuBackend(1)) {
            Model model = Model.create(cfg, be);
            MicroBatch mb = TinyModels.batch(cfg, 0, 2, 7, 0);
            GradCheck.Loss loss = () -> {
                StageContext c = model.newContext();
                model.forward(c, mb);
                double l = c.lossSum() * mb.lossScale();
                c.releaseAll();
                return l;
            };
            StageContext ctx = model.newContext();
            model.zeroGrads();
            model.forward(ctx, mb);
            model.backwardInput(ctx);
            model.backwardWeight(ctx);
            int i = 0;
            for (Parameter p : model.parameters().list()) {
                GradCheck.check(cfg.norm() + "/" + cfg.mlp() + " " + p.name(), p.value(), p.grad(), loss, 12, 77 + i++,
                        3e-3f);
            }
        }
    }

    @Test
    void llamaRmsNormSwiGlu() {
        check(TinyModels.llama());
    }

    @Test
    void layerNormGelu() {
        check(TinyModels.config("layernorm", "gelu"));
    }
}
