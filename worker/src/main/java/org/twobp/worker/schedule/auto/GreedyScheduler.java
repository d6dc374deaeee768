package org.twobp.worker.schedule.auto;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;

/**
 * A list scheduler in the spirit of Zero Bubble's greedy: it builds all ranks' lists at once in
 * simulated time. At every step the rank that can start something earliest commits one action:
 * a ready p1 or forward (in the policy's order), else a pending p2 if the policy lets it fill the
 * wait, else the forward or p1 that will be ready first. Forwards are refused when they would
 * push the rank's live stashes over the cap or run too far ahead of the backwards.
 */
final class GreedyScheduler {
    private static final double EPS = 1e-9;

    private final int ranks;
    private final int microbatches;
    private final CostModel costs;
    private final LinkModel link;
    private final double stashCap;
    private final GreedyPolicy policy;
    private final Placement placement;
    private final int stages;
    private final int chunks;

    private final double[][] forwardEnd;
    private final double[][] gradientEnd;
    private final int[] nextForward;
    private final int[] nextBackward;
    private final double[] clock;
    private final double[] alive;
    private final int[] ahead;
    private final List<Deque<int[]>> pending = new ArrayList<>();
    private final List<List<Action>> lists = new ArrayList<>();

    private record Decision(int rank, ActionKind kind, int stage, int microbatch, double start, int priority) {
    }

    private GreedyScheduler(int ranks, int microbatches, CostModel costs, LinkModel link, double stashCap,
            GreedyPolicy policy) {
        this.ranks = ranks;
        this.microbatches = microbatches;
        this.costs = costs;
        this.link = link;
        this.stashCap = stashCap;
        this.policy = policy;
        this.placement = policy.vShape() ? Placement.vShape(ranks, 2) : Placement.oneStagePerRank(ranks);
        this.stages = placement.stages();
        this.chunks = placement.chunksPerRank();
        this.forwardEnd = new double[stages][microbatches];
        this.gradientEnd = new double[stages][microbatches];
        for (int s = 0; s < stages; s++) {
            Arrays.fill(forwardEnd[s], Double.NaN);
            Arrays.fill(gradientEnd[s], Double.NaN);
        }
        this.nextForward = new int[stages];
        this.nextBackward = new int[stages];
        this.clock = new double[ranks];
        this.alive = new double[ranks];
        this.ahead = new int[ranks];
        for (int r = 0; r < ranks; r++) {
            pending.add(new ArrayDeque<>());
            lists.add(new ArrayList<>());
        }
    }

    /** A compute-only schedule, or null when the policy gets stuck (e.g. a cap too tight for it). */
    static Schedule run(int ranks, int microbatches, CostModel costs, LinkModel link, double stashCap,
            GreedyPolicy policy) {
        return new GreedyScheduler(ranks, microbatches, costs, link, stashCap, policy).build();
    }

    private Schedule build() {
        long remaining = (long) stages * microbatches * (policy.fused() ? 2 : 3);
        while (remaining > 0) {
            Decision best = null;
            for (int r = 0; r < ranks; r++) {
                Decision d = decide(r);
                if (d != null && (best == null || d.start() < best.start() - EPS
                        || (Math.abs(d.start() - best.start()) <= EPS && d.priority() < best.priority()))) {
                    best = d;
                }
            }
            if (best == null) {
                best = forcedWeight();
                if (best == null) {
                    return null;
                }
            }
            commit(best);
            remaining--;
        }
        return new Schedule("Auto", placement, microbatches, lists);
    }

    private Decision decide(int r) {
        double t = clock[r];
        Decision backward = null;
        Decision forward = null;
        boolean memoryHeld = false;
        ActionKind backwardKind = policy.fused() ? ActionKind.B : ActionKind.I;
        for (int s : placement.stagesOf(r)) {
            int k = nextBackward[s];
            if (k < nextForward[s]) {
                double ready = forwardEnd[s][k];
                if (s < stages - 1) {
                    double g = gradientEnd[s + 1][k];
                    ready = Double.isNaN(g) ? Double.NaN : Math.max(ready, g + comm(s + 1, s));
                }
                if (!Double.isNaN(ready) && better(ready, k, s, backward)) {
                    backward = new Decision(r, backwardKind, s, k, ready, 0);
                }
            }
            k = nextForward[s];
            if (k < microbatches) {
                if (alive[r] + 1.0 / chunks > stashCap + EPS) {
                    memoryHeld = true;
                    continue;
                }
                if (ahead[r] >= policy.limit().ahead(r, ranks, chunks)) {
                    continue;
                }
                double ready = s == 0 ? 0 : forwardEnd[s - 1][k];
                if (!Double.isNaN(ready)) {
                    ready += s == 0 ? 0 : comm(s - 1, s);
                    if (better(ready, k, s, forward)) {
                        forward = new Decision(r, ActionKind.F, s, k, ready, 1);
                    }
                }
            }
        }
        boolean backwardNow = backward != null && backward.start() <= t + EPS;
        boolean forwardNow = forward != null && forward.start() <= t + EPS;
        if (backwardNow && (policy.p1First() || !forwardNow)) {
            return at(backward, t);
        }
        if (forwardNow) {
            return at(forward, t);
        }
        double next = Math.min(backward == null ? Double.POSITIVE_INFINITY : backward.start(),
                forward == null ? Double.POSITIVE_INFINITY : forward.start());
        Deque<int[]> owed = pending.get(r);
        if (!owed.isEmpty()) {
            int[] oldest = owed.peekFirst();
            double cost = costs.duration(ActionKind.W, oldest[0], stages, chunks, 1);
            boolean fill = switch (policy.fill()) {
                case EAGER -> true;
                case STRICT -> Double.isInfinite(next) || t + cost <= next + EPS;
                case LAZY -> memoryHeld;
            };
            if (fill || allForwardsAndBackwardsDone(r)) {
                return new Decision(r, ActionKind.W, oldest[0], oldest[1], t, 2);
            }
        }
        if (backward != null && (forward == null || backward.start() < forward.start() - EPS
                || (backward.start() <= forward.start() + EPS && policy.p1First()))) {
            return backward;
        }
        return forward;
    }

    private boolean allForwardsAndBackwardsDone(int r) {
        for (int s : placement.stagesOf(r)) {
            if (nextBackward[s] < microbatches) {
                return false;
            }
        }
        return true;
    }

    /** Earlier ready time wins; then the older micro-batch; then the later stage (nearer the loss). */
    private static boolean better(double ready, int microbatch, int stage, Decision than) {
        if (than == null) {
            return true;
        }
        if (Math.abs(ready - than.start()) > EPS) {
            return ready < than.start();
        }
        if (microbatch != than.microbatch()) {
            return microbatch < than.microbatch();
        }
        return stage > than.stage();
    }

    private static Decision at(Decision d, double t) {
        return new Decision(d.rank(), d.kind(), d.stage(), d.microbatch(), t, d.priority());
    }

    /** When no rank knows what to do next, the earliest rank owing a p2 runs it. */
    private Decision forcedWeight() {
        Decision best = null;
        for (int r = 0; r < ranks; r++) {
            if (!pending.get(r).isEmpty() && (best == null || clock[r] < best.start())) {
                int[] oldest = pending.get(r).peekFirst();
                best = new Decision(r, ActionKind.W, oldest[0], oldest[1], clock[r], 2);
            }
        }
        return best;
    }

    private void commit(Decision d) {
        int r = d.rank();
        int s = d.stage();
        int k = d.microbatch();
        double end = d.start() + costs.duration(d.kind(), s, stages, chunks, 1);
        switch (d.kind()) {
            case F -> {
                lists.get(r).add(Action.forward(s, k));
                forwardEnd[s][k] = end;
                nextForward[s]++;
                alive[r] += 1.0 / chunks;
                ahead[r]++;
            }
            case I -> {
                lists.get(r).add(Action.backwardInput(s, k));
                gradientEnd[s][k] = end;
                nextBackward[s]++;
                ahead[r]--;
                pending.get(r).addLast(new int[] {s, k});
            }
            case B -> {
                lists.get(r).add(Action.fusedBackward(s, k));
                gradientEnd[s][k] = end;
                nextBackward[s]++;
                ahead[r]--;
                alive[r] -= 1.0 / chunks;
            }
            case W -> {
                pending.get(r).removeFirst();
                lists.get(r).add(Action.backwardWeight(s, k));
                alive[r] -= 1.0 / chunks;
            }
            default -> throw new IllegalStateException("greedy scheduler does not place " + d.kind());
        }
        clock[r] = end;
    }

    private double comm(int from, int to) {
        if (!placement.crossesRanks(from, to)) {
            return 0;
        }
        return link.transferTime(costs.messageBytes(Math.min(from, to), stages, chunks));
    }
}
