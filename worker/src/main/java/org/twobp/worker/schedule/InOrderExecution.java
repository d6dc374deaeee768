package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a schedule without hardware: every rank works through its list in order and starts each
 * action as soon as the rank is free and the action's inputs exist. This one engine serves the
 * simulator (real costs), the validator's deadlock check and the grid layout (unit costs).
 *
 * <p>Data rules: F on stage s needs the activation of stage s-1; I or B on stage s needs its own F
 * and the input-gradient of stage s+1 (the last stage needs only its F, which computes the loss);
 * W needs the I of each of its micro-batches. In a lowered schedule a cross-rank input arrives
 * when the producer's rank has run the SEND, plus the transfer time; receives and sends are
 * non-blocking and take no compute time. In a compute-only schedule the transfer starts when the
 * producer ends.
 */
public final class InOrderExecution {
    /** Durations of actions and transfers. */
    public interface Timing {
        /** Time the action occupies its rank; zero for sends and receives. */
        double duration(int rank, Action action);

        /** Time from posting a send until the data is usable on the receiving rank. */
        double transferTime(MessageKey message);

        /** When the rank is free for its first action: 0 on paper, a measured step's set-up in a replay. */
        default double startTime(int rank) {
            return 0;
        }
    }

    /** Where a rank stopped in a strict run that could not finish, and what it was waiting for. */
    public record Stuck(int rank, int index, Action action, String waitingFor) {
    }

    /** Start and end time of every action, indexed [rank][position in the rank's list]. */
    public record Result(double[][] start, double[][] end, List<Stuck> stuck, List<Stuck> forced) {
        public boolean finished() {
            return stuck.isEmpty();
        }
    }

    private final Schedule schedule;
    private final Timing timing;
    private final boolean lowered;
    private final Map<Long, Double> forwardEnd = new HashMap<>();
    private final Map<Long, Double> gradientEnd = new HashMap<>();
    private final Map<MessageKey, Double> arrival = new HashMap<>();
    private String waitingFor;

    private InOrderExecution(Schedule schedule, Timing timing) {
        this.schedule = schedule;
        this.timing = timing;
        this.lowered = schedule.hasCommunication();
    }

    /** Runs until done or until no rank can move; a deadlock leaves {@code stuck} non-empty. */
    public static Result run(Schedule schedule, Timing timing) {
        return new InOrderExecution(schedule, timing).execute(false);
    }

    /**
     * Runs to the end whatever happens: when no rank can move, the rank that is earliest in time
     * runs its next action as if its inputs were there. Used to lay out grids of broken schedules.
     */
    public static Result runLenient(Schedule schedule, Timing timing) {
        return new InOrderExecution(schedule, timing).execute(true);
    }

    private Result execute(boolean lenient) {
        int ranks = schedule.ranks();
        double[][] start = new double[ranks][];
        double[][] end = new double[ranks][];
        int[] next = new int[ranks];
        double[] clock = new double[ranks];
        for (int r = 0; r < ranks; r++) {
            start[r] = new double[schedule.actions(r).size()];
            end[r] = new double[schedule.actions(r).size()];
            clock[r] = timing.startTime(r);
        }
        List<Stuck> forced = new ArrayList<>();
        while (true) {
            boolean progress = false;
            for (int r = 0; r < ranks; r++) {
                List<Action> list = schedule.actions(r);
                while (next[r] < list.size()) {
                    Action a = list.get(next[r]);
                    double ready = readyTime(r, a);
                    if (Double.isNaN(ready)) {
                        break;
                    }
                    perform(r, next[r], a, Math.max(clock[r], ready), start, end);
                    clock[r] = end[r][next[r]];
                    next[r]++;
                    progress = true;
                }
            }
            if (progress) {
                continue;
            }
            List<Stuck> stuck = new ArrayList<>();
            int earliest = -1;
            for (int r = 0; r < ranks; r++) {
                if (next[r] < schedule.actions(r).size()) {
                    Action a = schedule.actions(r).get(next[r]);
                    readyTime(r, a);
                    stuck.add(new Stuck(r, next[r], a, waitingFor));
                    if (earliest < 0 || clock[r] < clock[earliest]) {
                        earliest = r;
                    }
                }
            }
            if (stuck.isEmpty() || !lenient) {
                return new Result(start, end, stuck, forced);
            }
            Action a = schedule.actions(earliest).get(next[earliest]);
            readyTime(earliest, a);
            forced.add(new Stuck(earliest, next[earliest], a, waitingFor));
            perform(earliest, next[earliest], a, clock[earliest], start, end);
            clock[earliest] = end[earliest][next[earliest]];
            next[earliest]++;
        }
    }

    private void perform(int rank, int index, Action a, double begin, double[][] start, double[][] end) {
        double finish = begin + timing.duration(rank, a);
        start[rank][index] = begin;
        end[rank][index] = finish;
        Placement placement = schedule.placement();
        int s = a.stage();
        switch (a.kind()) {
            case F -> {
                forwardEnd.put(key(s, a.microbatch()), finish);
                if (!lowered && s + 1 < placement.stages() && placement.crossesRanks(s, s + 1)) {
                    MessageKey m = new MessageKey(MessageKey.Direction.FORWARD, s, s + 1, a.microbatch());
                    arrival.put(m, finish + timing.transferTime(m));
                }
            }
            case I, B -> {
                gradientEnd.put(key(s, a.microbatch()), finish);
                if (!lowered && s > 0 && placement.crossesRanks(s, s - 1)) {
                    MessageKey m = new MessageKey(MessageKey.Direction.BACKWARD, s, s - 1, a.microbatch());
                    arrival.put(m, finish + timing.transferTime(m));
                }
            }
            case SEND_F, SEND_B -> arrival.put(a.messageKey(), begin + timing.transferTime(a.messageKey()));
            default -> {
            }
        }
    }

    /** When the action's inputs exist, or NaN (with {@link #waitingFor} set) if not yet known. */
    private double readyTime(int rank, Action a) {
        Placement placement = schedule.placement();
        int s = a.stage();
        int last = placement.stages() - 1;
        switch (a.kind()) {
            case F -> {
                if (s == 0) {
                    return 0;
                }
                return input(rank, s - 1, a.microbatch(), MessageKey.Direction.FORWARD, forwardEnd,
                        "the activation");
            }
            case I, B -> {
                Double own = forwardEnd.get(key(s, a.microbatch()));
                if (own == null) {
                    waitingFor = "its own F" + a.microbatch() + " of stage " + s + ", which has not run";
                    return Double.NaN;
                }
                if (s == last) {
                    return own;
                }
                double grad = input(rank, s + 1, a.microbatch(), MessageKey.Direction.BACKWARD, gradientEnd,
                        "the output-gradient");
                return Double.isNaN(grad) ? grad : Math.max(own, grad);
            }
            case W -> {
                double ready = 0;
                for (int k : a.microbatches().toArray()) {
                    Double p1 = gradientEnd.get(key(s, k));
                    if (p1 == null) {
                        waitingFor = "the p1 (I" + k + ") of stage " + s + ", which has not run";
                        return Double.NaN;
                    }
                    ready = Math.max(ready, p1);
                }
                return ready;
            }
            case SEND_F -> {
                return local(forwardEnd, s, a.microbatch(), "F");
            }
            case SEND_B -> {
                return local(gradientEnd, s, a.microbatch(), "I/B");
            }
            default -> {
                return 0;
            }
        }
    }

    private double local(Map<Long, Double> ends, int stage, int microbatch, String what) {
        Double t = ends.get(key(stage, microbatch));
        if (t == null) {
            waitingFor = "the " + what + microbatch + " of stage " + stage + " it sends, which has not run";
            return Double.NaN;
        }
        return t;
    }

    private double input(int rank, int fromStage, int microbatch, MessageKey.Direction direction,
            Map<Long, Double> localEnds, String what) {
        Placement placement = schedule.placement();
        int toStage = direction == MessageKey.Direction.FORWARD ? fromStage + 1 : fromStage - 1;
        if (placement.rankOf(fromStage) == rank) {
            Double t = localEnds.get(key(fromStage, microbatch));
            if (t == null) {
                waitingFor = what + " of micro-batch " + microbatch + " from stage " + fromStage
                        + " on this same rank, which has not run";
                return Double.NaN;
            }
            return t;
        }
        Double t = arrival.get(new MessageKey(direction, fromStage, toStage, microbatch));
        if (t == null) {
            waitingFor = what + " of micro-batch " + microbatch + " from stage " + fromStage
                    + " on rank " + placement.rankOf(fromStage);
            return Double.NaN;
        }
        return t;
    }

    private static long key(int stage, int microbatch) {
        return ((long) stage << 32) | (microbatch & 0xffffffffL);
    }
}
