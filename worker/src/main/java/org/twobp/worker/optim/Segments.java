package org.twobp.worker.optim;

import java.util.ArrayList;
import java.util.List;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.ParameterSet;

/** Maximal runs of neighbouring parameters that share a weight-decay setting. */
final class Segments {

    record Segment(int offset, int size, boolean decay) {
    }

    private Segments() {
    }

    static List<Segment> byDecay(ParameterSet params) {
        List<Segment> out = new ArrayList<>();
        int start = 0;
        int size = 0;
        Boolean decay = null;
        for (Parameter p : params.list()) {
            if (decay != null && decay == p.decay() && start + size == p.offset()) {
                size += p.size();
                continue;
            }
            if (decay != null) {
                out.add(new Segment(start, size, decay));
            }
            start = p.offset();
            size = p.size();
            decay = p.decay();
        }
        if (decay != null) {
            out.add(new Segment(start, size, decay));
        }
        return List.copyOf(out);
    }
}
