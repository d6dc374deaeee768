package org.twobp.datasets;

/**
 * SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit counter advanced by a fixed odd gamma and
 * passed through a bijective mixer. Fast, statistically sound for data sampling, and splittable
 * in O(1): output k of the stream seeded with s is {@code mix64(s + (k+1) * GAMMA)}, so any
 * sample's generator can be built directly from (seed, sample index) without replaying the
 * samples before it. That is what makes every dataset here resumable from a single counter.
 */
public final class SplitMix64 {

    /** The golden-ratio increment, 2^64 / phi, rounded to odd. */
    public static final long GAMMA = 0x9E3779B97F4A7C15L;

    private long state;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    /**
     * The generator for sample {@code sample} of the stream seeded with {@code seed}: it is seeded
     * with output number {@code sample} (from 0) of {@code new SplitMix64(seed)}.
     */
    public static SplitMix64 forSample(long seed, long sample) {
        return new SplitMix64(mix64(seed + (sample + 1) * GAMMA));
    }

    public long nextLong() {
        state += GAMMA;
        return mix64(state);
    }

    /** Uniform in [0, bound), without modulo bias (rejects the incomplete last interval). */
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long bits;
        long value;
        do {
            bits = nextLong() >>> 1;
            value = bits % bound;
        } while (bits - value + (bound - 1) < 0);
        return value;
    }

    /** Uniform in [0, bound). */
    public int nextInt(int bound) {
        return (int) nextLong(bound);
    }

    /** The SplitMix64 finaliser (a variant of MurmurHash3's fmix64); a bijection on longs. */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
