package org.twobp.worker.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.twobp.mpi.ReduceOp;
import org.twobp.mpi.Transport;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.sim.MeasuredCosts;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;
import org.twobp.worker.schedule.sim.TimedAction;

/**
 * One measured arm (baseline or 2BP) of one schedule in {@link BenchPipeline}: the schedule that
 * ran, exactly as the trainer built it (its stages, chunks and p2 sets), its step times, and the
 * time of every action of every rank in every timed step, gathered so that each rank holds all
 * of them.
 *
 * @param schedule        the lowered schedule the trainer executed
 * @param stepSeconds     the timed steps' times (slowest rank), in the order they ran
 * @param bubble          median over the timed steps of the measured bubble ratio (mean over ranks)
 * @param peakBytesByRank peak memory of each rank
 * @param steps           per timed step, the measured time of every action of every rank
 * @param costs           per action, the median of its times over the timed steps
 * @param medianStep      the measured timeline of the step with the median step time, each action from
 *                        the end of its wait for a peer to its end
 */
record MeasuredArm(Schedule schedule, double[] stepSeconds, double tokensPerSecond, double bubble,
                   long[] peakBytesByRank, List<MeasuredCosts> steps, MeasuredCosts costs,
                   SimulationResult medianStep) {

    /** Median over the timed steps of the step time. */
    double medianSeconds() {
        return MeasuredCosts.median(stepSeconds);
    }

    /**
     * Summarises this rank's timed steps and gathers every rank's action times (a collective:
     * every rank calls it with its own results of the same steps).
     *
     * <p>Per action: the executor's compute time (its wait for a peer's data excluded), for the
     * sends the copy into the send buffer and the post. STEP: the rank's gradient-norm and
     * optimizer work, i.e. its busy time less its actions (the all-reduce wait excluded). Per rank:
     * the time from the step's start to its first action (zeroing gradients, slicing the batch,
     * posting the receives).
     */
    static MeasuredArm of(Transport t, PipelineTrainer trainer, long peakBytes, List<PipelineStepResult> rs) {
        Schedule s = trainer.schedule();
        int ranks = s.ranks();
        int[] offset = new int[ranks + 1];
        for (int r = 0; r < ranks; r++) {
            offset[r + 1] = offset[r] + s.actions(r).size();
        }
        int total = offset[ranks];
        List<Action> mine = s.actions(t.rank());
        Map<Action, Integer> slotOf = new HashMap<>();
        for (int i = 0; i < mine.size(); i++) {
            slotOf.put(mine.get(i), i);
        }
        int steps = rs.size();
        double[] stepSeconds = rs.stream().mapToDouble(r -> r.stepNanos() / 1e9).toArray();
        int medianStep = medianIndex(stepSeconds);
        // [step 0 | step 1 | ... | start in the median step | end in the median step], one slot per
        // action of every rank in each (NaN marks an action that was not timed), then per step and
        // rank the set-up time before the rank's first action
        double[] gathered = new double[(steps + 2) * total + steps * ranks];
        int starts = steps * total;
        int ends = (steps + 1) * total;
        int setUp = (steps + 2) * total;
        for (int k = 0; k < steps; k++) {
            double[] own = new double[mine.size()];
            Arrays.fill(own, Double.NaN);
            List<ActionTiming> timings = rs.get(k).timings();
            long actions = 0;
            for (ActionTiming a : timings) {
                own[slotOf.get(a.action())] = a.computeNanos() / 1e9;
                actions += a.computeNanos();
            }
            own[slotOf.get(Action.step())] = (rs.get(k).localBusyNanos() - actions) / 1e9;
            gathered[setUp + k * ranks + t.rank()] = timings.isEmpty() ? 0 : timings.get(0).startNanos() / 1e9;
            for (int i = 0; i < mine.size(); i++) {
                gathered[k * total + offset[t.rank()] + i] = mine.get(i).kind().isReceive() ? 0 : own[i];
            }
        }
        double cursor = 0;
        for (int i = 0; i < mine.size(); i++) {
            Action a = mine.get(i);
            int slot = offset[t.rank()] + i;
            double start = cursor;
            double end = cursor;
            if (a.kind() == ActionKind.STEP) {
                end = cursor + gathered[medianStep * total + slot];
            } else if (!a.kind().isReceive()) {
                ActionTiming timing = rs.get(medianStep).timings().stream().filter(at -> at.action().equals(a))
                        .findFirst().orElseThrow();
                start = (timing.startNanos() + timing.waitNanos()) / 1e9; // drawn from the data's arrival
                end = timing.endNanos() / 1e9;
                cursor = end;
            }
            gathered[starts + slot] = start;
            gathered[ends + slot] = end;
        }
        t.allreduce(gathered, ReduceOp.SUM);
        double[] peaks = new double[t.size()];
        peaks[t.rank()] = peakBytes;
        t.allreduce(peaks, ReduceOp.SUM);

        List<List<Map<Action, Double>>> byStep = new ArrayList<>();
        for (int k = 0; k < steps; k++) {
            byStep.add(new ArrayList<>());
        }
        List<Map<Action, Double>> medians = new ArrayList<>();
        List<List<TimedAction>> timeline = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            for (int k = 0; k < steps; k++) {
                byStep.get(k).add(new HashMap<>());
            }
            Map<Action, Double> median = new HashMap<>();
            List<TimedAction> row = new ArrayList<>();
            List<Action> list = s.actions(r);
            for (int i = 0; i < list.size(); i++) {
                int slot = offset[r] + i;
                Action a = list.get(i);
                if (!a.kind().isReceive()) {
                    double[] x = new double[steps];
                    for (int k = 0; k < steps; k++) {
                        x[k] = gathered[k * total + slot];
                        byStep.get(k).get(r).put(a, x[k]);
                    }
                    // a NaN sample is kept so that MeasuredCosts names the untimed action
                    median.put(a, Arrays.stream(x).anyMatch(Double::isNaN) ? Double.NaN : MeasuredCosts.median(x));
                }
                row.add(new TimedAction(a, i, gathered[starts + slot], gathered[ends + slot]));
            }
            medians.add(median);
            timeline.add(row);
        }
        List<MeasuredCosts> perStep = new ArrayList<>();
        double[][] setUpByRank = new double[ranks][steps];
        for (int k = 0; k < steps; k++) {
            double[] stepSetUp = Arrays.copyOfRange(gathered, setUp + k * ranks, setUp + (k + 1) * ranks);
            perStep.add(MeasuredCosts.of(s, byStep.get(k), stepSetUp));
            for (int r = 0; r < ranks; r++) {
                setUpByRank[r][k] = stepSetUp[r];
            }
        }
        double[] medianSetUp = Arrays.stream(setUpByRank).mapToDouble(MeasuredCosts::median).toArray();
        double bubble = MeasuredCosts.median(rs.stream().mapToDouble(PipelineStepResult::bubbleMean).toArray());
        double tokens = trainer.globalBatchSize() * (double) trainer.modelConfig().seqLen();
        return new MeasuredArm(s, stepSeconds, tokens / MeasuredCosts.median(stepSeconds), bubble,
                Arrays.stream(peaks).mapToLong(d -> (long) d).toArray(), List.copyOf(perStep),
                MeasuredCosts.of(s, medians, medianSetUp), Simulator.result(s, timeline, null));
    }

    /** The index of the median value (the lower middle one for an even count). */
    static int medianIndex(double[] values) {
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(values[a], values[b]));
        return order[(values.length - 1) / 2];
    }
}
