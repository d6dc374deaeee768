package org.twobp.worker.schedule.auto;

/**
 * The knobs of one greedy run; the auto-scheduler tries every combination and keeps the best.
 *
 * @param vShape     two chunks per rank in a V (as ZB-V) instead of one stage per rank
 * @param p1First    when a forward and a p1 are both ready, run the p1 (it is on the critical path)
 * @param fill       when a rank would otherwise wait, whether a pending p2 may fill the gap
 * @param limit      how many forwards may run ahead of their backward on a rank
 * @param fused      no 2BP: run fused backwards instead of p1 and p2
 */
record GreedyPolicy(boolean vShape, boolean p1First, WeightFill fill, ForwardLimit limit, boolean fused) {
    enum WeightFill {
        /** Run a p2 only if it ends before the next forward or p1 can start. */
        STRICT,
        /** Run a p2 whenever nothing else is ready right now. */
        EAGER,
        /** Keep p2 for the end (concatenated), unless the memory cap forces one earlier. */
        LAZY
    }

    enum ForwardLimit {
        /** Only the memory cap limits forwards. */
        MEMORY_ONLY,
        /** 1F1B's P - r micro-batches ahead on rank r. */
        ONE_F_ONE_B,
        /** ZB-H2's 2 (P - r) - 1 micro-batches ahead on rank r. */
        ZERO_BUBBLE;

        /** Forwards (counted in chunks) rank r may have run ahead of their backward. */
        int ahead(int rank, int ranks, int chunks) {
            return switch (this) {
                case MEMORY_ONLY -> Integer.MAX_VALUE;
                case ONE_F_ONE_B -> chunks * (ranks - rank);
                case ZERO_BUBBLE -> chunks * (2 * (ranks - rank) - 1);
            };
        }
    }

    @Override
    public String toString() {
        return (vShape ? "V-shape" : "one stage per rank") + ", " + (p1First ? "p1 first" : "forward first")
                + ", p2 " + fill.name().toLowerCase(java.util.Locale.ROOT)
                + ", ahead " + limit.name().toLowerCase(java.util.Locale.ROOT) + (fused ? ", fused backward" : "");
    }
}
