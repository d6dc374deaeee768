package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.List;

/**
 * Passes between the compute-only form that generators write and the lowered form the executor
 * runs. Receives are placed immediately before the action that consumes the data and sends
 * immediately after the action that produced it; both are non-blocking, so an executor may post
 * every receive of a rank early and only wait on it at the consumer.
 */
public final class Lowering {
    private Lowering() {
    }

    /**
     * Adds SEND_F/RECV_F/SEND_B/RECV_B wherever data crosses ranks, and a STEP at the end of every
     * rank. Stage pairs on the same rank (the turn of a V) hand data over locally, with no message.
     */
    public static Schedule addCommunication(Schedule computeOnly) {
        if (computeOnly.hasCommunication()) {
            throw new ScheduleException("schedule '" + computeOnly.name()
                    + "' already has sends, receives or steps; lower a compute-only schedule");
        }
        Placement placement = computeOnly.placement();
        int last = placement.stages() - 1;
        List<List<Action>> lowered = new ArrayList<>();
        for (int rank = 0; rank < computeOnly.ranks(); rank++) {
            List<Action> out = new ArrayList<>();
            for (Action a : computeOnly.actions(rank)) {
                int s = a.stage();
                boolean forward = a.kind() == ActionKind.F;
                boolean backward = a.kind().producesInputGradient();
                if (forward && s > 0 && placement.crossesRanks(s - 1, s)) {
                    out.add(Action.communication(ActionKind.RECV_F, s, a.microbatch(), placement.rankOf(s - 1)));
                }
                if (backward && s < last && placement.crossesRanks(s + 1, s)) {
                    out.add(Action.communication(ActionKind.RECV_B, s, a.microbatch(), placement.rankOf(s + 1)));
                }
                out.add(a);
                if (forward && s < last && placement.crossesRanks(s, s + 1)) {
                    out.add(Action.communication(ActionKind.SEND_F, s, a.microbatch(), placement.rankOf(s + 1)));
                }
                if (backward && s > 0 && placement.crossesRanks(s, s - 1)) {
                    out.add(Action.communication(ActionKind.SEND_B, s, a.microbatch(), placement.rankOf(s - 1)));
                }
            }
            out.add(Action.step());
            lowered.add(out);
        }
        return computeOnly.withActions(lowered);
    }

    /** Drops sends, receives and steps: the form generators write and CSV files usually hold. */
    public static Schedule computeOnly(Schedule schedule) {
        List<List<Action>> out = new ArrayList<>();
        for (List<Action> rank : schedule.allActions()) {
            out.add(rank.stream().filter(Action::isCompute).toList());
        }
        return schedule.withActions(out);
    }

    /** The lowered form, lowering only when needed. */
    public static Schedule lowered(Schedule schedule) {
        return schedule.hasCommunication() ? schedule : addCommunication(schedule);
    }

    /**
     * The no-2BP baseline of a split schedule: every p1 becomes a fused backward (p1 then p2 of the
     * same micro-batch, as autograd does) at the p1's place, and the separate p2 calls disappear.
     * Generators write the 2BP form once and get the baseline from here, so both orders agree.
     */
    public static Schedule fuseBackward(Schedule split) {
        List<List<Action>> out = new ArrayList<>();
        for (List<Action> rank : split.allActions()) {
            List<Action> fused = new ArrayList<>();
            for (Action a : rank) {
                if (a.kind() == ActionKind.I) {
                    fused.add(Action.fusedBackward(a.stage(), a.microbatch()));
                } else if (a.kind() != ActionKind.W) {
                    fused.add(a);
                }
            }
            out.add(fused);
        }
        return split.withActions(out);
    }
}
