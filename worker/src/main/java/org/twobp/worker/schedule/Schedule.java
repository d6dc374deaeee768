package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A pipeline schedule as pure data: for every rank, the ordered list of actions it runs in one
 * training step, plus the placement of stages on ranks and the number of micro-batches.
 *
 * <p>A schedule is either <em>compute-only</em> (F, I, W, B; transfers between ranks implied by the
 * placement) as generators and hand-written CSV files produce it, or <em>lowered</em> (explicit
 * SEND/RECV with peers and a final STEP per rank) as {@link Lowering#addCommunication} makes it and
 * the executor runs it. Nothing here needs a backend or hardware.
 */
public final class Schedule {
    private final String name;
    private final Placement placement;
    private final int microbatches;
    private final List<List<Action>> actions;

    public Schedule(String name, Placement placement, int microbatches, List<List<Action>> actions) {
        if (microbatches < 1) {
            throw new ScheduleException("a schedule needs at least one micro-batch, got " + microbatches);
        }
        if (actions.size() != placement.ranks()) {
            throw new ScheduleException("schedule '" + name + "' has action lists for " + actions.size()
                    + " ranks but its placement has " + placement.ranks());
        }
        this.name = name;
        this.placement = placement;
        this.microbatches = microbatches;
        List<List<Action>> copy = new ArrayList<>();
        for (List<Action> rank : actions) {
            copy.add(List.copyOf(rank));
        }
        this.actions = Collections.unmodifiableList(copy);
    }

    public String name() {
        return name;
    }

    public Placement placement() {
        return placement;
    }

    public int ranks() {
        return placement.ranks();
    }

    /** Number of (virtual) stages: ranks times chunks per rank. */
    public int stages() {
        return placement.stages();
    }

    public int chunksPerRank() {
        return placement.chunksPerRank();
    }

    public int microbatches() {
        return microbatches;
    }

    /** The ordered action list one rank runs: what the executor consumes. */
    public List<Action> actions(int rank) {
        return actions.get(rank);
    }

    public List<List<Action>> allActions() {
        return actions;
    }

    /** True once sends, receives and steps are explicit (see {@link Lowering}). */
    public boolean hasCommunication() {
        return actions.stream().flatMap(List::stream)
                .anyMatch(a -> a.kind().isCommunication() || a.kind() == ActionKind.STEP);
    }

    /** True when the backward is split into p1 (I) and p2 (W), i.e. the schedule uses 2BP. */
    public boolean usesTwoBp() {
        return actions.stream().flatMap(List::stream)
                .anyMatch(a -> a.kind() == ActionKind.I || a.kind() == ActionKind.W);
    }

    /** True when some rank holds more than one stage, so action texts need a stage prefix. */
    public boolean needsStagePrefix() {
        return !placement.equals(Placement.oneStagePerRank(placement.ranks()));
    }

    public Schedule renamed(String newName) {
        return new Schedule(newName, placement, microbatches, actions);
    }

    public Schedule withActions(List<List<Action>> newActions) {
        return new Schedule(name, placement, microbatches, newActions);
    }

    /** Mutable copies of the action lists, for passes and tests that edit a schedule. */
    public List<List<Action>> copyActions() {
        List<List<Action>> copy = new ArrayList<>();
        for (List<Action> rank : actions) {
            copy.add(new ArrayList<>(rank));
        }
        return copy;
    }

    /** The text of one action as grids and CSV files show it. */
    public String text(Action action) {
        return action.text(needsStagePrefix());
    }

    @Override
    public String toString() {
        return name + " (" + ranks() + " ranks, " + stages() + " stages, " + microbatches + " micro-batches)\n"
                + ScheduleGrid.render(this);
    }
}
