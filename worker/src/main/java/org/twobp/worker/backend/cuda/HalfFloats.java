package org.twobp.worker.backend.cuda;

/**
 * Java twins of the 16-bit conversions in {@code common.cuh}: what a bf16 or fp16 GEMM operand
 * holds, for comparisons on the host. Round to nearest even, as the kernels do.
 */
public final class HalfFloats {

    private HalfFloats() {
    }

    public static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 0x40);
        }
        u += 0x7fff + ((u >>> 16) & 1);
        return (short) (u >>> 16);
    }

    public static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    public static float[] roundToBf16(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = fromBf16(toBf16(v[i]));
        }
        return out;
    }
}
