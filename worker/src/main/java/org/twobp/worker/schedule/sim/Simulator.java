package org.twobp.worker.schedule.sim;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.InOrderExecution;
import org.twobp.worker.schedule.Lowering;
import org.twobp.worker.schedule.MessageKey;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;
import org.twobp.worker.schedule.ScheduleGrid;

/**
 * Runs a schedule on paper: costs and a link model in, per-rank timeline, makespan, bubble ratio
 * and peak stash out. Each rank runs its list in order, starting each action when the rank is
 * free and its inputs have arrived (see {@link InOrderExecution}); sends and receives are
 * non-blocking, so transfers overlap compute. Compute-only schedules are lowered first.
 *
 * <p>Costs come either from a {@link CostModel} (per stage and kind, modelled or estimated, for
 * any schedule) or from {@link MeasuredCosts} (the time of every action of one schedule as a run
 * measured it, for that schedule only). A replay of measured costs passes no message sizes to
 * the link, so its link model should be the measured time of one message as it ran.
 */
public final class Simulator {
    private final CostModel costs;
    private final MeasuredCosts measured;
    private final LinkModel link;

    public Simulator(CostModel costs, LinkModel link) {
        this(costs, null, link);
    }

    /** Replays the schedule {@code measured} was measured with, action by action. */
    public Simulator(MeasuredCosts measured, LinkModel link) {
        this(null, measured, link);
    }

    private Simulator(CostModel costs, MeasuredCosts measured, LinkModel link) {
        this.costs = costs;
        this.measured = measured;
        this.link = link;
    }

    /** The paper's idealised setting: F = p1 = p2 = 1, B = 2, linear concatenation, free links. */
    public static Simulator idealised() {
        return new Simulator(CostModel.paperIdealised(), LinkModel.free());
    }

    /** The cost model, or null when this simulator replays measured costs. */
    public CostModel costs() {
        return costs;
    }

    public LinkModel link() {
        return link;
    }

    public SimulationResult run(Schedule schedule) {
        Schedule lowered = Lowering.lowered(schedule);
        if (measured != null) {
            requireSameActions(measured.schedule(), lowered);
        }
        int stages = lowered.stages();
        int chunks = lowered.chunksPerRank();
        InOrderExecution.Result run = InOrderExecution.run(lowered, new InOrderExecution.Timing() {
            @Override
            public double duration(int rank, Action action) {
                if (measured != null) {
                    return measured.seconds(rank, action);
                }
                if (action.kind() == ActionKind.STEP) {
                    return lowered.placement().stagesOf(rank).stream()
                            .mapToDouble(s -> costs.duration(ActionKind.STEP, s, stages, chunks, 1)).sum();
                }
                return costs.duration(action.kind(), action.stage(), stages, chunks, action.microbatches().size());
            }

            @Override
            public double startTime(int rank) {
                return measured != null ? measured.startSeconds(rank) : 0;
            }

            @Override
            public double transferTime(MessageKey message) {
                if (measured != null) {
                    return link.transferTime(0);
                }
                int boundary = Math.min(message.fromStage(), message.toStage());
                return link.transferTime(costs.messageBytes(boundary, stages, chunks));
            }
        });
        if (!run.finished()) {
            InOrderExecution.Stuck first = run.stuck().get(0);
            StringBuilder sb = new StringBuilder("schedule '" + lowered.name() + "' deadlocks: ");
            for (InOrderExecution.Stuck s : run.stuck()) {
                sb.append("\n  rank ").append(s.rank()).append(", slot ").append(s.index()).append(", action ")
                        .append(lowered.text(s.action())).append(" waits for ").append(s.waitingFor());
            }
            sb.append('\n').append(ScheduleGrid.render(lowered, first.rank(), first.index(), "stuck here"));
            throw new ScheduleException(sb.toString());
        }
        List<List<TimedAction>> timeline = new ArrayList<>();
        for (int r = 0; r < lowered.ranks(); r++) {
            List<TimedAction> row = new ArrayList<>();
            List<Action> list = lowered.actions(r);
            for (int i = 0; i < list.size(); i++) {
                row.add(new TimedAction(list.get(i), i, run.start()[r][i], run.end()[r][i]));
            }
            timeline.add(row);
        }
        return result(lowered, timeline, measured != null ? null : costs);
    }

    /**
     * Makespan, busy time and peak stash of a timeline, simulated or measured. {@code costs} gives
     * the stash bytes per stage; null counts one unit per micro-batch of a rank's whole piece
     * (1/V per chunk), so bytes then equal micro-batches.
     */
    public static SimulationResult result(Schedule lowered, List<List<TimedAction>> timeline, CostModel costs) {
        CostModel stash = costs != null ? costs : CostModel.paperIdealised();
        double makespan = 0;
        double[] busy = new double[lowered.ranks()];
        double[] peakCount = new double[lowered.ranks()];
        double[] peakBytes = new double[lowered.ranks()];
        List<List<TimedAction>> rows = new ArrayList<>();
        for (int r = 0; r < lowered.ranks(); r++) {
            for (TimedAction t : timeline.get(r)) {
                makespan = Math.max(makespan, t.end());
                busy[r] += t.duration();
            }
            StashTracker.Peak peak = StashTracker.peak(timeline.get(r), lowered, stash);
            peakCount[r] = peak.microbatches();
            peakBytes[r] = peak.bytes();
            rows.add(List.copyOf(timeline.get(r)));
        }
        return new SimulationResult(lowered, List.copyOf(rows), makespan, busy, peakCount, peakBytes);
    }

    /** A replay is only meaningful for the very action lists that were timed. */
    private static void requireSameActions(Schedule timed, Schedule simulated) {
        if (!timed.placement().equals(simulated.placement())) {
            throw new ScheduleException("costs measured with '" + timed.name() + "' (placement " + timed.placement()
                    + ") cannot replay '" + simulated.name() + "' (placement " + simulated.placement()
                    + "); simulate the schedule that was measured");
        }
        for (int r = 0; r < timed.ranks(); r++) {
            List<Action> a = timed.actions(r);
            List<Action> b = simulated.actions(r);
            for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
                Action x = i < a.size() ? a.get(i) : null;
                Action y = i < b.size() ? b.get(i) : null;
                if (x == null || !x.equals(y)) {
                    throw new ScheduleException("costs measured with '" + timed.name() + "' cannot replay '"
                            + simulated.name() + "': rank " + r + ", slot " + i + " ran "
                            + (x == null ? "nothing" : timed.text(x)) + " but the simulated schedule has "
                            + (y == null ? "nothing" : simulated.text(y)) + "; simulate the schedule that was measured");
                }
            }
        }
    }
}
