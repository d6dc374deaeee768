package org.twobp.worker.schedule.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;

/**
 * The time every action of one schedule took in a run, as the simulator's input: one value per
 * entry of each rank's lowered list — F, I, B, each W over exactly its own micro-batch set, the
 * sends and the optimizer STEP — for the schedule that ran, with its own stages and chunks.
 *
 * <p>Nothing is modelled here. A p2 over k concatenated micro-batches costs what that very call
 * took, not k times a one-micro-batch p2 (which the run may never have executed), and an action
 * without a measurement is an error rather than a guess. Receives have no cost: the executor
 * posts them all before the step's first action and waits inside the F or backward that needs
 * the data, and that wait is not part of the action's measured time. What a rank does in a step
 * before its first action (zeroing gradients, slicing the batch, posting the receives) is its
 * measured start time.
 */
public final class MeasuredCosts {
    private final Schedule schedule;
    private final List<Map<Action, Double>> seconds;
    private final double[] startSeconds;

    private MeasuredCosts(Schedule schedule, List<Map<Action, Double>> seconds, double[] startSeconds) {
        this.schedule = schedule;
        this.seconds = seconds;
        this.startSeconds = startSeconds;
    }

    /**
     * {@code secondsByRank.get(r)} maps every action of rank r's list in the lowered
     * {@code schedule} (receives may be left out) to its measured seconds; every rank starts at 0.
     */
    public static MeasuredCosts of(Schedule schedule, List<Map<Action, Double>> secondsByRank) {
        return of(schedule, secondsByRank, new double[schedule.ranks()]);
    }

    /** As {@link #of(Schedule, List)}, rank r being free for its first action at {@code startSeconds[r]}. */
    public static MeasuredCosts of(Schedule schedule, List<Map<Action, Double>> secondsByRank, double[] startSeconds) {
        if (!schedule.hasCommunication()) {
            throw new ScheduleException("measured costs belong to the lowered schedule that ran (with sends and STEP);"
                    + " '" + schedule.name() + "' is compute-only: lower it with Lowering.addCommunication first");
        }
        if (secondsByRank.size() != schedule.ranks()) {
            throw new ScheduleException("measured costs of '" + schedule.name() + "' cover " + secondsByRank.size()
                    + " ranks, the schedule has " + schedule.ranks());
        }
        if (startSeconds.length != schedule.ranks()) {
            throw new ScheduleException("measured start times of '" + schedule.name() + "' cover " + startSeconds.length
                    + " ranks, the schedule has " + schedule.ranks());
        }
        for (int r = 0; r < startSeconds.length; r++) {
            if (!(startSeconds[r] >= 0) || Double.isInfinite(startSeconds[r])) {
                throw new ScheduleException("rank " + r + " of '" + schedule.name() + "': no measured start time (got "
                        + startSeconds[r] + "); give the time from the step's start to the rank's first action");
            }
        }
        List<Map<Action, Double>> copy = new ArrayList<>();
        for (int r = 0; r < schedule.ranks(); r++) {
            Map<Action, Double> given = secondsByRank.get(r);
            Map<Action, Double> own = new HashMap<>();
            for (Action a : schedule.actions(r)) {
                Double s = given.get(a);
                if (a.kind().isReceive()) {
                    if (s != null && s != 0) {
                        throw new ScheduleException("rank " + r + " of '" + schedule.name() + "': "
                                + schedule.text(a) + " is given " + s + " s, but a posted receive takes no time;"
                                + " its wait belongs to the action that consumes the data");
                    }
                    continue;
                }
                if (s == null || !(s >= 0) || s.isInfinite()) {
                    throw new ScheduleException("rank " + r + " of '" + schedule.name() + "': no measured time for "
                            + schedule.text(a) + (s == null ? "" : " (got " + s + ")")
                            + "; time this action in the run of this very schedule instead of estimating it");
                }
                own.put(a, s);
            }
            for (Action a : given.keySet()) {
                if (!own.containsKey(a) && !a.kind().isReceive()) {
                    throw new ScheduleException("rank " + r + " of '" + schedule.name() + "': a time is given for "
                            + schedule.text(a) + ", which this rank does not run; were the costs measured with"
                            + " another schedule?");
                }
            }
            copy.add(own);
        }
        return new MeasuredCosts(schedule, List.copyOf(copy), startSeconds.clone());
    }

    /** The lowered schedule the times were measured with. */
    public Schedule schedule() {
        return schedule;
    }

    /** Seconds from the step's start until {@code rank} began its first action. */
    public double startSeconds(int rank) {
        return startSeconds[rank];
    }

    /** Measured seconds of {@code action} on {@code rank}; 0 for a receive. */
    public double seconds(int rank, Action action) {
        if (action.kind().isReceive()) {
            return 0;
        }
        Double s = seconds.get(rank).get(action);
        if (s == null) {
            throw new ScheduleException("rank " + rank + " of '" + schedule.name() + "' has no measured time for "
                    + schedule.text(action));
        }
        return s;
    }

    /**
     * The median of {@code samples} (the mean of the middle two for an even count): the statistic
     * per action over a run's timed steps, because one step disturbed by the machine (a
     * collection, another process) moves a mean but not a median.
     */
    public static double median(double[] samples) {
        if (samples.length == 0) {
            throw new ScheduleException("the median of no samples is undefined; time at least one step");
        }
        double[] s = samples.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
