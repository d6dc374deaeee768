package org.twobp.worker.schedule.auto;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.Lowering;
import org.twobp.worker.schedule.MicroBatches;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;
import org.twobp.worker.schedule.ScheduleValidator;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/**
 * The automatic schedule: given per-stage F, p1 and p2 costs, the link and a per-rank cap on live
 * stashes (in micro-batches), find a valid schedule of minimal simulated makespan.
 *
 * <p>Like Zero Bubble's auto-scheduler it runs a greedy list scheduler under every combination
 * of its knobs ({@link GreedyPolicy}: one stage per rank or a V, p1 or forward first, how p2
 * fills gaps, how far forwards may run ahead). The hand-written schedules that fit the cap join as
 * candidates too, so the result is never worse than the best of them. Every candidate is also
 * tried with runs of p2 calls on the same stage merged into one concatenated call, which is free
 * in memory and wins whenever a p2 call has a fixed cost. The simulator is the judge.
 */
public final class AutoScheduler {
    private static final double EPS = 1e-9;

    private final CostModel costs;
    private final LinkModel link;
    private final double stashCap;
    private final Simulator simulator;

    /** The chosen schedule, its simulation, where it came from and how many candidates were judged. */
    public record Result(Schedule schedule, SimulationResult simulation, String origin, int candidates) {
    }

    /** {@code stashCap} in micro-batches per rank; infinity for no cap. */
    public AutoScheduler(CostModel costs, LinkModel link, double stashCap) {
        if (!(stashCap > 0)) {
            throw new ScheduleException("the stash cap must be positive, got " + stashCap);
        }
        this.costs = costs;
        this.link = link;
        this.stashCap = stashCap;
        this.simulator = new Simulator(costs, link);
    }

    /**
     * The best schedule found. With {@code twoBp} the candidates may split backwards (and may also
     * keep some fused, if that is faster); without, every backward is fused.
     */
    public Result schedule(int ranks, int microbatches, boolean twoBp) {
        Map<String, Schedule> candidates = new LinkedHashMap<>();
        for (ScheduleFamily family : ScheduleFamily.values()) {
            for (int variant : variants(family, ranks, microbatches)) {
                int chunks = family == ScheduleFamily.INTERLEAVED ? variant : 1;
                if (family.constraint(ranks, microbatches, chunks) != null) {
                    continue;
                }
                for (boolean split : twoBp ? new boolean[] {true, false} : new boolean[] {false}) {
                    Schedule s = family.computeOnly(ranks, microbatches, split, chunks, variant);
                    candidates.put("hand-written " + s.name(), s);
                }
            }
        }
        for (boolean vShape : new boolean[] {false, true}) {
            for (boolean p1First : new boolean[] {true, false}) {
                for (GreedyPolicy.WeightFill fill : GreedyPolicy.WeightFill.values()) {
                    for (GreedyPolicy.ForwardLimit limit : GreedyPolicy.ForwardLimit.values()) {
                        for (boolean fused : twoBp ? new boolean[] {false, true} : new boolean[] {true}) {
                            if (fused && fill != GreedyPolicy.WeightFill.STRICT) {
                                continue;
                            }
                            GreedyPolicy policy = new GreedyPolicy(vShape, p1First, fill, limit, fused);
                            Schedule s = GreedyScheduler.run(ranks, microbatches, costs, link, stashCap, policy);
                            if (s != null) {
                                candidates.put("greedy (" + policy + ")", s);
                            }
                        }
                    }
                }
            }
        }
        String bestOrigin = null;
        Schedule best = null;
        SimulationResult bestResult = null;
        double smallestPeak = Double.POSITIVE_INFINITY;
        int judged = 0;
        for (Map.Entry<String, Schedule> c : candidates.entrySet()) {
            for (Schedule s : List.of(c.getValue(), mergeWeights(c.getValue()))) {
                judged++;
                SimulationResult result;
                try {
                    result = simulator.run(s);
                } catch (ScheduleException deadlock) {
                    continue;
                }
                smallestPeak = Math.min(smallestPeak, result.maxPeakStash());
                if (result.maxPeakStash() > stashCap + EPS) {
                    continue;
                }
                if (bestResult == null || result.makespan() < bestResult.makespan() - EPS
                        || (result.makespan() <= bestResult.makespan() + EPS
                                && result.maxPeakStash() < bestResult.maxPeakStash() - EPS)) {
                    best = s;
                    bestResult = result;
                    bestOrigin = c.getKey() + (s == c.getValue() ? "" : ", p2 runs merged");
                }
            }
        }
        if (best == null) {
            throw new ScheduleException("no schedule keeps the live stashes within " + stashCap
                    + " micro-batches per rank; the smallest peak found is " + smallestPeak
                    + ": raise the stash cap");
        }
        String name = "Auto" + (twoBp ? " + 2BP" : "");
        Schedule lowered = ScheduleValidator.validate(Lowering.addCommunication(best.renamed(name)));
        return new Result(lowered, simulator.run(lowered), bestOrigin, judged);
    }

    /** Caps worth trying for the capped 1F1B; chunk counts for interleaved; nothing for the rest. */
    private static int[] variants(ScheduleFamily family, int ranks, int microbatches) {
        if (family == ScheduleFamily.INTERLEAVED) {
            return new int[] {2};
        }
        if (family == ScheduleFamily.CAPPED) {
            int top = Math.min(microbatches, 2 * ranks);
            int[] caps = new int[top];
            for (int c = 1; c <= top; c++) {
                caps[c - 1] = c;
            }
            return caps;
        }
        return new int[] {0};
    }

    /**
     * Merges every run of consecutive p2 calls on the same stage into one concatenated call. No
     * forward sits between them, so the peak stash cannot grow, and a call's fixed cost is paid once.
     */
    static Schedule mergeWeights(Schedule schedule) {
        List<List<Action>> out = new ArrayList<>();
        for (List<Action> rank : schedule.allActions()) {
            List<Action> merged = new ArrayList<>();
            for (Action a : rank) {
                int last = merged.size() - 1;
                if (a.kind() == ActionKind.W && last >= 0 && merged.get(last).kind() == ActionKind.W
                        && merged.get(last).stage() == a.stage()) {
                    List<Integer> ids = new ArrayList<>();
                    merged.get(last).microbatches().stream().forEach(ids::add);
                    a.microbatches().stream().forEach(ids::add);
                    merged.set(last, Action.backwardWeight(a.stage(), MicroBatches.of(ids)));
                } else {
                    merged.add(a);
                }
            }
            out.add(merged);
        }
        return schedule.withActions(out);
    }
}
