package org.twobp.launcher;

import org.twobp.worker.analysis.Analyze;

/** {@code twobp analyze RUN_DIR... [--png DIR] [--step N] [--csv FILE]}: summaries, comparison and charts of run logs. */
final class AnalyzeCommand implements Command {

    @Override public String name() { return "analyze"; }

    @Override public String summary() {
        return "summarise and compare runs from their logs: throughput, bubble, memory by rank; --png charts";
    }

    @Override public int run(String[] args) {
        return Analyze.run(args, System.out, System.err);
    }
}
