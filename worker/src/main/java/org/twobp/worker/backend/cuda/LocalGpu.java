package org.twobp.worker.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which GPU a rank uses. The CUDA driver already renumbers the devices that
 * {@code CUDA_VISIBLE_DEVICES} leaves visible as 0..n-1, so a rank only chooses among those: with
 * at least as many visible GPUs as ranks on the node, rank r takes GPU r % n; with exactly one
 * visible (a launcher that binds one GPU per task, e.g. Slurm {@code --gpus-per-task=1}) every
 * rank takes GPU 0; in between, ranks share GPUs, which works but slows every step, so it is
 * reported. Pure logic, no CUDA: the decisions are unit-tested without a GPU.
 */
public final class LocalGpu {

    /** The variable the CUDA driver reads to hide and renumber devices. */
    public static final String VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES";

    private static final Pattern ORDINAL = Pattern.compile("\\d+");
    private static final Pattern UUID = Pattern.compile("(GPU|MIG)-[0-9A-Za-z/-]+");

    private LocalGpu() {
    }

    /**
     * What {@code CUDA_VISIBLE_DEVICES} says.
     *
     * @param set     whether the variable is set at all (unset: the driver shows every GPU)
     * @param entries the device ordinals or UUIDs the driver will expose, in order
     * @param raw     the value as found, for messages (null when unset)
     */
    public record Visible(boolean set, List<String> entries, String raw) {

        public Visible {
            entries = List.copyOf(entries);
        }

        /** Devices the driver exposes, or -1 when the variable is unset (then the driver's count decides). */
        public int count() {
            return set ? entries.size() : -1;
        }

        /** True when the variable is set but leaves no device visible (empty, "-1", "NoDevFiles", ...). */
        public boolean hidesAll() {
            return set && entries.isEmpty();
        }
    }

    /** The ordinal this rank opens and, when the placement deserves a remark, a warning for the log (else null). */
    public record Choice(int ordinal, String warning) {
    }

    /** {@code CUDA_VISIBLE_DEVICES} of this process. */
    public static Visible visibleFromEnvironment() {
        return parseVisible(System.getenv(VISIBLE_DEVICES));
    }

    /**
     * Parses a {@code CUDA_VISIBLE_DEVICES} value as the driver does: a comma-separated list of
     * ordinals ({@code 0,1,2}) or UUIDs ({@code GPU-...}, {@code MIG-...}), read up to the first
     * entry that is neither; so {@code ""}, {@code "-1"} and Slurm's {@code "NoDevFiles"} hide every
     * device. {@code null} means unset.
     */
    public static Visible parseVisible(String value) {
        if (value == null) {
            return new Visible(false, List.of(), null);
        }
        List<String> entries = new ArrayList<>();
        if (!value.isBlank()) {
            for (String part : value.split(",", -1)) {
                String e = part.trim();
                if (!ORDINAL.matcher(e).matches() && !UUID.matcher(e).matches()) {
                    break;
                }
                entries.add(e);
            }
        }
        return new Visible(true, entries, value);
    }

    /**
     * The device ordinal for local rank {@code localRank} of {@code localSize} ranks on this node,
     * among {@code visibleCount} devices the driver reports.
     *
     * @param visibleSet whether {@code CUDA_VISIBLE_DEVICES} is set: with one visible GPU and several
     *                   ranks, a set variable usually means the launcher gave each rank its own GPU,
     *                   an unset one that they all share the node's only GPU
     */
    public static Choice choose(int localRank, int localSize, int visibleCount, boolean visibleSet) {
        if (visibleCount < 1) {
            throw new IllegalArgumentException("no visible GPU to choose from");
        }
        if (localRank < 0) {
            throw new IllegalArgumentException("negative local rank " + localRank);
        }
        int size = Math.max(localSize, localRank + 1);
        if (visibleCount >= size) {
            return new Choice(localRank % visibleCount, null);
        }
        if (visibleCount == 1) {
            if (visibleSet) {
                return new Choice(0, null);
            }
            return new Choice(0, size + " ranks on this node share its only visible GPU: each step runs their work"
                    + " one after another. Start one rank per GPU, or give each rank its own GPU"
                    + " (Slurm --gpus-per-task=1, or CUDA_VISIBLE_DEVICES per rank).");
        }
        int ordinal = localRank % visibleCount;
        return new Choice(ordinal, size + " ranks on this node but only " + visibleCount + " visible GPUs: ranks share"
                + " GPUs (GPU " + ordinal + " serves local ranks " + sharers(ordinal, visibleCount, size)
                + "), which slows every step and splits GPU memory. Start at most " + visibleCount
                + " ranks per node.");
    }

    private static String sharers(int ordinal, int visibleCount, int size) {
        StringBuilder s = new StringBuilder();
        for (int r = ordinal; r < size; r += visibleCount) {
            if (s.length() > 0) {
                s.append(',');
            }
            s.append(r);
        }
        return s.toString();
    }
}
