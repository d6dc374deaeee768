package org.twobp.launcher;

import java.util.ArrayList;
import java.util.List;

/** The arguments of one rank, {@code org.twobp.worker.pipeline.WorkerMain}, that the launcher passes on. */
final class WorkerArgs {

    static final String MAIN = "org.twobp.worker.pipeline.WorkerMain";

    private WorkerArgs() {
    }

    /** Options after --config/--run-dir/--from that a run keeps on every attempt. */
    static List<String> extras(String dumpWeights, String failAt) {
        List<String> x = new ArrayList<>();
        if (dumpWeights != null) {
            x.addAll(List.of("--dump-weights", dumpWeights));
        }
        if (failAt != null) {
            x.addAll(List.of("--fail-at", failAt));
        }
        return x;
    }
}
