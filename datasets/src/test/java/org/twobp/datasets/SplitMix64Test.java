package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SplitMix64Test {

    @Test
    void matchesTheReferenceSequence() {
        // First outputs of the reference C implementation (Vigna, splitmix64.c) seeded with 0.
        SplitMix64 r = new SplitMix64(0);
        assertEquals(0xE220A8397B1DCDAFL, r.nextLong());
        assertEquals(0x6E789E6AA1B965F4L, r.nextLong());
        assertEquals(0x06C45D188009454FL, r.nextLong());
    }

    @Test
    void forSampleJumpsStraightToOutputK() {
        SplitMix64 stream = new SplitMix64(42);
        for (int k = 0; k < 5; k++) {
            long seedK = stream.nextLong();
            assertEquals(new SplitMix64(seedK).nextLong(), SplitMix64.forSample(42, k).nextLong());
        }
    }

    @Test
    void boundedDrawsStayInRangeAndLookUniform() {
        SplitMix64 r = new SplitMix64(7);
        int[] counts = new int[10];
        for (int i = 0; i < 100_000; i++) {
            int v = r.nextInt(10);
            assertTrue(v >= 0 && v < 10);
            counts[v]++;
        }
        for (int c : counts) {
            assertTrue(Math.abs(c - 10_000) < 500, "count " + c);
        }
        long big = 3L << 40;
        for (int i = 0; i < 1000; i++) {
            long v = r.nextLong(big);
            assertTrue(v >= 0 && v < big);
        }
    }
}
