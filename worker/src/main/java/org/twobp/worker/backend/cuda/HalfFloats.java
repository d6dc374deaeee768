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

    /** IEEE half bits, round to nearest even, overflow to infinity (as {@code f32_to_f16}). */
    public static short toF16(float f) {
        int u = Float.floatToRawIntBits(f);
        int sign = (u >>> 16) & 0x8000;
        int a = u & 0x7fffffff;
        if (a > 0x7f800000) {
            return (short) (sign | 0x7e00);
        }
        if (a >= 0x477ff000) {
            return (short) (sign | 0x7c00);
        }
        if (a < 0x38800000) {
            if (a < 0x33000000) {
                return (short) sign;
            }
            int mant = (a & 0x7fffff) | 0x800000;
            int shift = 126 - (a >>> 23);
            int q = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (q & 1) != 0)) {
                q++;
            }
            return (short) (sign | q);
        }
        int q = (a - 0x38000000) >>> 13;
        int rem = a & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (q & 1) != 0)) {
            q++;
        }
        return (short) (sign | q);
    }

    public static float[] roundToBf16(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = fromBf16(toBf16(v[i]));
        }
        return out;
    }
}
