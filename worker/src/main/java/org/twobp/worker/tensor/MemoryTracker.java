package org.twobp.worker.tensor;

import java.util.EnumMap;
import java.util.Map;

/**
 * Current and peak bytes in use, per {@link MemoryCategory} and in total. The backend reports
 * every allocation, free and change of category here; the numbers are what the tensors hold,
 * not what a pool keeps cached (see the backend for that).
 */
public final class MemoryTracker {

    private static final MemoryCategory[] CATEGORIES = MemoryCategory.values();

    private final long[] current = new long[CATEGORIES.length];
    private final long[] peak = new long[CATEGORIES.length];
    private long total;
    private long totalPeak;

    public synchronized void allocated(MemoryCategory category, long bytes) {
        int c = category.ordinal();
        current[c] += bytes;
        peak[c] = Math.max(peak[c], current[c]);
        total += bytes;
        totalPeak = Math.max(totalPeak, total);
    }

    public synchronized void freed(MemoryCategory category, long bytes) {
        int c = category.ordinal();
        if (current[c] < bytes) {
            throw new IllegalStateException("memory accounting underflow in category " + category.label() + ": freeing "
                    + bytes + " bytes but only " + current[c] + " are recorded; a tensor was freed twice or was"
                    + " recategorised without telling the tracker");
        }
        current[c] -= bytes;
        total -= bytes;
    }

    /** A buffer changes purpose (for example, an activation becomes stash once p1 is done). */
    public synchronized void moved(MemoryCategory from, MemoryCategory to, long bytes) {
        if (from == to) {
            return;
        }
        freed(from, bytes);
        allocated(to, bytes);
    }

    public synchronized long current(MemoryCategory category) {
        return current[category.ordinal()];
    }

    public synchronized long peak(MemoryCategory category) {
        return peak[category.ordinal()];
    }

    public synchronized long currentTotal() {
        return total;
    }

    public synchronized long peakTotal() {
        return totalPeak;
    }

    /** Sets every peak to the current value (e.g. after the warm-up step). */
    public synchronized void resetPeaks() {
        System.arraycopy(current, 0, peak, 0, current.length);
        totalPeak = total;
    }

    public synchronized Snapshot snapshot() {
        Map<MemoryCategory, Long> cur = new EnumMap<>(MemoryCategory.class);
        Map<MemoryCategory, Long> pk = new EnumMap<>(MemoryCategory.class);
        for (MemoryCategory c : CATEGORIES) {
            cur.put(c, current[c.ordinal()]);
            pk.put(c, peak[c.ordinal()]);
        }
        return new Snapshot(Map.copyOf(cur), Map.copyOf(pk), total, totalPeak);
    }

    /** An immutable copy of the counters. */
    public record Snapshot(Map<MemoryCategory, Long> current, Map<MemoryCategory, Long> peak, long currentTotal,
                           long peakTotal) {

        /** One log line: {@code memory MiB cur/peak: params 1.0/1.0 grads ... total 9.0/12.5}. */
        public String format() {
            StringBuilder s = new StringBuilder("memory MiB cur/peak:");
            for (MemoryCategory c : CATEGORIES) {
                s.append(' ').append(c.label()).append(' ').append(mib(current.get(c))).append('/')
                        .append(mib(peak.get(c)));
            }
            return s.append(" | total ").append(mib(currentTotal)).append('/').append(mib(peakTotal)).toString();
        }

        private static String mib(long bytes) {
            return String.format("%.1f", bytes / (1024.0 * 1024.0));
        }
    }
}
