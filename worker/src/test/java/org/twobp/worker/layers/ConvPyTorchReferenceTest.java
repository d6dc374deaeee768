package org.twobp.worker.layers;

import org.twobp.worker.testing.ReferenceFixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Group;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.backend.ConvShape;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;
import org.twobp.worker.tensor.Tensor;

/**
 * {@link Conv2d} (stride 2, padding 1) followed by {@link BatchNorm2d} on the CPU backend against
 * PyTorch, from the committed fixture {@code conv_bn.h5} that tests/reference/make_fixtures.py
 * wrote: float32 input, weights and output-gradient; float64 outputs and gradients.
 *
 * <p>Tolerance: for each tensor, max |java - torch| / max |torch| <= 1e-4 (float32 against a
 * float64 reference), as for the transformer's reference test.
 */
class ConvPyTorchReferenceTest {

    static final double TOLERANCE = 1e-4;


    private static Number attr(Group g, String name) {
        Attribute a = g.getAttribute(name);
        Object v = a.getData();
        return (Number) (v.getClass().isArray() ? java.lang.reflect.Array.get(v, 0) : v);
    }

    @Test
    void convolutionThenBatchNormMatchPyTorch() {
        try (HdfFile h5 = new HdfFile(ReferenceFixtures.fixture("conv_bn")); CpuBackend be = new CpuBackend(2)) {
            Group c = (Group) h5.getByPath("config");
            int b = attr(c, "batch").intValue();
            int ch = attr(c, "channels").intValue();
            int h = attr(c, "height").intValue();
            int w = attr(c, "width").intValue();
            int f = attr(c, "filters").intValue();
            ParameterSet set = new ParameterSet();
            Conv2d conv = new Conv2d(set, "conv", ch, f, attr(c, "kernel_h").intValue(), attr(c, "kernel_w").intValue(),
                    attr(c, "stride").intValue(), attr(c, "pad").intValue(), false, 0.1);
            BatchNorm2d bn = new BatchNorm2d(set, "bn", f, attr(c, "eps").floatValue());
            set.bind(be.allocate(MemoryCategory.PARAMETERS, set.size()),
                    be.allocateZeros(MemoryCategory.GRADIENTS, set.size()));
            for (Parameter p : set.list()) {
                float[] v = (float[]) h5.getDatasetByPath("params/" + p.name()).getDataFlat();
                assertEquals(p.size(), v.length, "size of " + p.name());
                be.copyFromHost(v, 0, p.value());
            }
            assertEquals(((Group) h5.getByPath("params")).getChildren().size(), set.list().size(),
                    "the fixture and the layers have the same parameters");
            ConvShape s = conv.shape(b, h, w);
            int spatial = s.colCols();
            Tensor x = tensor(be, (float[]) h5.getDatasetByPath("input").getDataFlat(), b, ch, h, w);
            Tensor dout = tensor(be, (float[]) h5.getDatasetByPath("output_grad").getDataFlat(), b, f, s.outHeight(),
                    s.outWidth());

            ContextMemory mem = new ContextMemory(be);
            Conv2d.Context cc = new Conv2d.Context();
            BatchNorm2d.Context bc = new BatchNorm2d.Context();
            Tensor y = be.allocate(MemoryCategory.ACTIVATIONS, b, f, s.outHeight(), s.outWidth());
            Tensor out = be.allocate(MemoryCategory.ACTIVATIONS, b, f, s.outHeight(), s.outWidth());
            conv.forward(be, x, y, b, h, w, cc);
            bn.forward(be, mem, y, out, b, spatial, bc);
            Tensor dy = be.allocate(MemoryCategory.ACTIVATIONS, b, f, s.outHeight(), s.outWidth());
            Tensor dx = be.allocate(MemoryCategory.ACTIVATIONS, b, ch, h, w);
            bn.backwardInput(be, dout, dy, bc);
            conv.backwardInput(be, dy, dx, cc);
            mem.releaseAfterP1();
            bn.backwardWeight(be, List.of(bc));
            conv.backwardWeight(be, List.of(cc));

            double worst = compare("conv output", doubles(h5, "conv_output"), be.toHost(y));
            worst = Math.max(worst, compare("batch norm output", doubles(h5, "output"), be.toHost(out)));
            worst = Math.max(worst, compare("input gradient", doubles(h5, "grads/input"), be.toHost(dx)));
            for (Parameter p : set.list()) {
                worst = Math.max(worst, compare("gradient of " + p.name(), doubles(h5, "grads/" + p.name()),
                        be.toHost(p.grad())));
            }
            mem.releaseAll();
            System.out.printf("conv + batch norm vs PyTorch: worst normalised error %.2e (bound %.0e)%n", worst,
                    TOLERANCE);
        }
    }

    private static Tensor tensor(CpuBackend be, float[] values, int... shape) {
        Tensor t = be.allocate(MemoryCategory.ACTIVATIONS, shape);
        assertEquals(t.size(), values.length, "fixture array size for " + t);
        be.copyFromHost(values, 0, t);
        return t;
    }

    private static double[] doubles(HdfFile h5, String path) {
        return (double[]) h5.getDatasetByPath(path).getDataFlat();
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
