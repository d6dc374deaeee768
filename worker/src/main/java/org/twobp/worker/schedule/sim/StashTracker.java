package org.twobp.worker.schedule.sim;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.Schedule;

/**
 * Peak stash of one rank: a micro-batch's stash on a stage is allocated when its F starts and
 * freed when the B or the W covering it ends (p1 alone frees nothing in this model: 2BP keeps the
 * layer inputs and adds the output-gradients until p2).
 */
final class StashTracker {
    record Peak(double microbatches, double bytes) {
    }

    private record Event(double time, boolean free, double count, double bytes) {
    }

    private StashTracker() {
    }

    static Peak peak(List<TimedAction> row, Schedule schedule, CostModel costs) {
        int stages = schedule.stages();
        int chunks = schedule.chunksPerRank();
        double perChunk = 1.0 / Math.max(1, schedule.chunksPerRank());
        List<Event> events = new ArrayList<>();
        for (TimedAction t : row) {
            ActionKind kind = t.action().kind();
            if (kind == ActionKind.F) {
                double bytes = costs.stashBytes(t.action().stage(), stages, chunks);
                events.add(new Event(t.start(), false, perChunk, bytes));
            } else if (kind == ActionKind.B || kind == ActionKind.W) {
                int n = t.action().microbatches().size();
                double bytes = costs.stashBytes(t.action().stage(), stages, chunks) * n;
                events.add(new Event(t.end(), true, -perChunk * n, -bytes));
            }
        }
        // At equal times frees go first: a rank runs one action at a time, so whatever ended at t
        // released its memory before the F starting at t allocates.
        events.sort((a, b) -> a.time() != b.time() ? Double.compare(a.time(), b.time())
                : Boolean.compare(!a.free(), !b.free()));
        double count = 0;
        double bytes = 0;
        double peakCount = 0;
        double peakBytes = 0;
        for (Event e : events) {
            count += e.count();
            bytes += e.bytes();
            peakCount = Math.max(peakCount, count);
            peakBytes = Math.max(peakBytes, bytes);
        }
        return new Peak(round(peakCount), peakBytes);
    }

    /** 1/V steps add up with rounding noise; peaks are multiples of 1/V. */
    private static double round(double v) {
        return Math.round(v * 1e9) / 1e9;
    }
}
