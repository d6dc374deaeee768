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
 * Runs a schedule on paper: per-stage costs and a link model in, per-rank timeline, makespan,
 * bubble ratio and peak stash out. Each rank runs its list in order, starting each action when
 * the rank is free and its inputs have arrived (see {@link InOrderExecution}); sends and receives
 * are non-blocking, so transfers overlap compute. Compute-only schedules are lowered first.
 */
public final class Simulator {
    private final CostModel costs;
    private final LinkModel link;

    public Simulator(CostModel costs, LinkModel link) {
        this.costs = costs;
        this.link = link;
    }

    /** The paper's idealised setting: F = p1 = p2 = 1, B = 2, linear concatenation, free links. */
    public static Simulator idealised() {
        return new Simulator(CostModel.paperIdealised(), LinkModel.free());
    }

    public CostModel costs() {
        return costs;
    }

    public LinkModel link() {
        return link;
    }

    public SimulationResult run(Schedule schedule) {
        Schedule lowered = Lowering.lowered(schedule);
        int stages = lowered.stages();
        int chunks = lowered.chunksPerRank();
        InOrderExecution.Result run = InOrderExecution.run(lowered, new InOrderExecution.Timing() {
            @Override
            public double duration(int rank, Action action) {
                if (action.kind() == ActionKind.STEP) {
                    return lowered.placement().stagesOf(rank).stream()
                            .mapToDouble(s -> costs.duration(ActionKind.STEP, s, stages, chunks, 1)).sum();
                }
                return costs.duration(action.kind(), action.stage(), stages, chunks, action.microbatches().size());
            }

            @Override
            public double transferTime(MessageKey message) {
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
        double makespan = 0;
        double[] busy = new double[lowered.ranks()];
        for (int r = 0; r < lowered.ranks(); r++) {
            List<TimedAction> row = new ArrayList<>();
            List<Action> list = lowered.actions(r);
            for (int i = 0; i < list.size(); i++) {
                TimedAction t = new TimedAction(list.get(i), i, run.start()[r][i], run.end()[r][i]);
                row.add(t);
                makespan = Math.max(makespan, t.end());
                busy[r] += t.duration();
            }
            timeline.add(List.copyOf(row));
        }
        double[] peakCount = new double[lowered.ranks()];
        double[] peakBytes = new double[lowered.ranks()];
        for (int r = 0; r < lowered.ranks(); r++) {
            StashTracker.Peak peak = StashTracker.peak(timeline.get(r), lowered, costs);
            peakCount[r] = peak.microbatches();
            peakBytes[r] = peak.bytes();
        }
        return new SimulationResult(lowered, List.copyOf(timeline), makespan, busy, peakCount, peakBytes);
    }
}
