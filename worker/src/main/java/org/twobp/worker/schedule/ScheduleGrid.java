package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.List;

/**
 * The schedule as a grid: one row per rank, one column per time slot, blank = bubble. Slots come
 * from running the compute actions with the paper's idealised costs (F = p1 = p2 = 1 slot, fused
 * B = 2, a p2 over k micro-batches = k, no transfer time), so the grid reads like Figure 1.
 * Works for broken schedules too, so that validation errors can show where things went wrong.
 */
public final class ScheduleGrid {
    private ScheduleGrid() {
    }

    public static String render(Schedule schedule) {
        return render(schedule, -1, -1, "");
    }

    /**
     * Renders the grid with the action at {@code index} of {@code rank}'s list marked; for a send,
     * receive or step the nearest compute action on that rank is marked and the note says which.
     */
    public static String render(Schedule schedule, int markRank, int markIndex, String note) {
        Schedule compute = Lowering.computeOnly(schedule);
        InOrderExecution.Result slots = InOrderExecution.runLenient(compute, new InOrderExecution.Timing() {
            @Override
            public double duration(int rank, Action action) {
                return idealisedSlots(action);
            }

            @Override
            public double transferTime(MessageKey message) {
                return 0;
            }
        });
        int markCompute = -1;
        if (markRank >= 0 && markRank < schedule.ranks()) {
            markCompute = computeIndex(schedule.actions(markRank), markIndex);
        }
        // Every box needs room for its label and a space: k slots of w columns give k * w - 1.
        int width = 3;
        for (List<Action> rank : compute.allActions()) {
            for (Action a : rank) {
                int span = Math.max(1, idealisedSlots(a));
                width = Math.max(width, (compute.text(a).length() + 2 + span - 1) / span);
            }
        }
        List<TimelineText.Box> boxes = new ArrayList<>();
        int lastSlot = 0;
        for (int r = 0; r < compute.ranks(); r++) {
            List<Action> list = compute.actions(r);
            for (int i = 0; i < list.size(); i++) {
                int from = (int) Math.round(slots.start()[r][i]);
                int to = (int) Math.round(slots.end()[r][i]);
                lastSlot = Math.max(lastSlot, to);
                boolean marked = r == markRank && i == markCompute;
                boxes.add(new TimelineText.Box(r, compute.text(list.get(i)), from * width, to * width, marked));
            }
            if (r == markRank && markCompute == list.size()) {
                boxes.add(new TimelineText.Box(r, "?", lastEnd(slots, r) * width,
                        (lastEnd(slots, r) + 1) * width, true));
            }
        }
        List<TimelineText.Tick> ticks = new ArrayList<>();
        for (int t = 0; t <= lastSlot; t += 5) {
            ticks.add(new TimelineText.Tick(t * width, Integer.toString(t)));
        }
        return TimelineText.render(compute.ranks(), boxes, ticks, note);
    }

    /** Slots an action takes in the idealised grid. */
    public static int idealisedSlots(Action action) {
        return switch (action.kind()) {
            case F, I -> 1;
            case B -> 2;
            case W -> action.microbatches().size();
            default -> 0;
        };
    }

    private static int lastEnd(InOrderExecution.Result slots, int rank) {
        double[] ends = slots.end()[rank];
        return ends.length == 0 ? 0 : (int) Math.round(ends[ends.length - 1]);
    }

    /**
     * Position among the compute actions of the cell to mark for list entry {@code index}: a
     * receive points at the compute action after it, a send at the one before it; an index past
     * the end (a missing action) points one past the last compute action.
     */
    static int computeIndex(List<Action> list, int index) {
        if (index < 0) {
            return -1;
        }
        int before = 0;
        for (int i = 0; i < Math.min(index, list.size()); i++) {
            if (list.get(i).isCompute()) {
                before++;
            }
        }
        if (index >= list.size()) {
            return before;
        }
        Action a = list.get(index);
        if (a.isCompute() || a.kind().isReceive()) {
            boolean anyAfter = list.subList(index, list.size()).stream().anyMatch(Action::isCompute);
            return anyAfter ? before : Math.max(0, before - 1);
        }
        return Math.max(0, before - 1);
    }
}
