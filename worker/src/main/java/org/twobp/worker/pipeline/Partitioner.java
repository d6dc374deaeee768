package org.twobp.worker.pipeline;

import java.util.ArrayList;
import java.util.List;

import org.twobp.worker.model.BlockCost;

/**
 * Cuts the model's blocks (0 = embedding, 1..L = transformer blocks, L+1 = head) into S
 * contiguous stages. The embedding always lands on the first stage and the head with the loss
 * on the last, because stages are contiguous and non-empty.
 *
 * <ul>
 *   <li>{@code balanced}: minimises the largest stage cost (F + p1 + p2 FLOPs), exactly, by
 *       dynamic programming over cut points;</li>
 *   <li>{@code equal}: equal numbers of transformer blocks per stage (the paper's layout), the
 *       remainder going to the first stages;</li>
 *   <li>{@code "3,3,4"}: explicit block counts per stage.</li>
 * </ul>
 */
public final class Partitioner {

    private Partitioner() {
    }

    /** Throws when {@code spec} is none of the accepted forms. */
    static void checkSpec(String spec) {
        if (spec.equals("balanced") || spec.equals("equal")) {
            return;
        }
        for (String part : spec.split(",")) {
            try {
                if (Integer.parseInt(part.strip()) < 1) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("partition must be balanced, equal or block counts per stage like"
                        + " \"3,3,4\" (each >= 1), got \"" + spec + "\"");
            }
        }
    }

    /** First block of every stage, plus the block count at the end: stage s = [cuts[s], cuts[s+1]). */
    public static int[] cut(String spec, List<BlockCost> costs, int stages) {
        int blocks = costs.size();
        if (stages < 1) {
            throw new IllegalArgumentException("need at least one stage, got " + stages);
        }
        if (stages > blocks) {
            throw new IllegalArgumentException(stages + " stages but the model has only " + blocks
                    + " blocks (embedding, " + (blocks - 2) + " transformer blocks, head): use fewer ranks or chunks,"
                    + " or a model with more layers");
        }
        return switch (spec) {
            case "balanced" -> balanced(costs, stages);
            case "equal" -> equal(blocks, stages);
            default -> explicit(spec, blocks, stages);
        };
    }

    static int[] balanced(List<BlockCost> costs, int stages) {
        int n = costs.size();
        double[] prefix = new double[n + 1];
        for (int i = 0; i < n; i++) {
            prefix[i + 1] = prefix[i] + costs.get(i).totalFlops();
        }
        // best[s][i]: smallest achievable max stage cost putting blocks [0, i) into s stages
        double[][] best = new double[stages + 1][n + 1];
        int[][] from = new int[stages + 1][n + 1];
        for (double[] row : best) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        for (int s = 1; s <= stages; s++) {
            for (int i = s; i <= n - (stages - s); i++) {
                for (int j = s - 1; j < i; j++) {
                    double v = Math.max(best[s - 1][j], prefix[i] - prefix[j]);
                    if (v < best[s][i]) {
                        best[s][i] = v;
                        from[s][i] = j;
                    }
                }
            }
        }
        int[] cuts = new int[stages + 1];
        cuts[stages] = n;
        for (int s = stages; s > 0; s--) {
            cuts[s - 1] = from[s][cuts[s]];
        }
        return cuts;
    }

    static int[] equal(int blocks, int stages) {
        int layers = blocks - 2;
        if (layers < stages) {
            // fewer transformer blocks than stages: one block per stage wherever possible
            int[] cuts = new int[stages + 1];
            for (int s = 0; s <= stages; s++) {
                cuts[s] = s == stages ? blocks : s;
            }
            return cuts;
        }
        int[] cuts = new int[stages + 1];
        int next = 1; // block 0 (embedding) joins the first stage
        for (int s = 0; s < stages; s++) {
            cuts[s] = s == 0 ? 0 : next;
            next += layers / stages + (s < layers % stages ? 1 : 0);
        }
        cuts[stages] = blocks; // the head joins the last stage
        return cuts;
    }

    static int[] explicit(String spec, int blocks, int stages) {
        String[] parts = spec.split(",");
        if (parts.length != stages) {
            throw new IllegalArgumentException("partition \"" + spec + "\" gives " + parts.length
                    + " stages, the run has " + stages);
        }
        int[] cuts = new int[stages + 1];
        for (int s = 0; s < stages; s++) {
            cuts[s + 1] = cuts[s] + Integer.parseInt(parts[s].strip());
        }
        if (cuts[stages] != blocks) {
            throw new IllegalArgumentException("partition \"" + spec + "\" covers " + cuts[stages]
                    + " blocks, the model has " + blocks + " (embedding + layers + head)");
        }
        return cuts;
    }

    /** One line per stage: its blocks and estimated share of the work. */
    public static List<String> describe(int[] cuts, List<BlockCost> costs) {
        double total = costs.stream().mapToDouble(BlockCost::totalFlops).sum();
        List<String> lines = new ArrayList<>();
        for (int s = 0; s + 1 < cuts.length; s++) {
            double c = 0;
            for (int b = cuts[s]; b < cuts[s + 1]; b++) {
                c += costs.get(b).totalFlops();
            }
            lines.add(String.format(java.util.Locale.ROOT, "stage %d: %s .. %s (%d blocks, %.1f%% of the FLOPs)", s,
                    costs.get(cuts[s]).block(), costs.get(cuts[s + 1] - 1).block(), cuts[s + 1] - cuts[s],
                    100 * c / total));
        }
        return lines;
    }
}
