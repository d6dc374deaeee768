package org.twobp.launcher;

import org.twobp.worker.schedule.SimulateMain;

/** {@code twobp simulate ...}: the schedule simulator, with no hardware (see SimulateMain for options). */
final class SimulateCommand implements Command {

    @Override public String name() { return "simulate"; }

    @Override public String summary() {
        return "simulate a pipeline schedule with and without 2BP: timeline, makespan, bubble, stash, PNG (--compare for all)";
    }

    @Override public int run(String[] args) {
        return SimulateMain.run(args, System.out, System.err);
    }
}
