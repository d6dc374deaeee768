package org.twobp.worker.pipeline;

import org.twobp.worker.schedule.ActionKind;

/**
 * A deliberate failure for testing how the job ends: rank {@code rank} throws when it reaches
 * the first {@code kind} action of step {@code step} (counted from 1, as in the progress lines). Spec: {@code rank:step:kind}, e.g. {@code 1:2:I}.
 */
public record FaultInjection(int rank, int step, ActionKind kind) {

    public static FaultInjection parse(String spec) {
        String[] p = spec.split(":", -1);
        try {
            if (p.length != 3) {
                throw new IllegalArgumentException("three fields");
            }
            return new FaultInjection(Integer.parseInt(p[0]), Integer.parseInt(p[1]), ActionKind.ofSymbol(p[2]));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("fault injection must be rank:step:action like 1:2:I, got \"" + spec + "\"", e);
        }
    }

    boolean hits(int rank, int step, ActionKind kind) {
        return this.rank == rank && this.step == step && this.kind == kind;
    }
}
