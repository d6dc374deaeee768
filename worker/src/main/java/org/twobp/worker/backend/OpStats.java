package org.twobp.worker.backend;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Calls, time and floating-point operations per {@link OpKind}, counted by the backend around
 * every operation (a clock read costs tens of nanoseconds; the operations cost microseconds to
 * seconds). FLOPs are counted for GEMMs only: 2*m*n*k each.
 */
public final class OpStats {

    private static final OpKind[] KINDS = OpKind.values();

    private final AtomicLongArray calls = new AtomicLongArray(KINDS.length);
    private final AtomicLongArray nanos = new AtomicLongArray(KINDS.length);
    private final AtomicLongArray flops = new AtomicLongArray(KINDS.length);

    public void record(OpKind kind, long elapsedNanos, long flopCount) {
        int k = kind.ordinal();
        calls.incrementAndGet(k);
        nanos.addAndGet(k, elapsedNanos);
        flops.addAndGet(k, flopCount);
    }

    public long calls(OpKind kind) {
        return calls.get(kind.ordinal());
    }

    public long nanos(OpKind kind) {
        return nanos.get(kind.ordinal());
    }

    public long flops(OpKind kind) {
        return flops.get(kind.ordinal());
    }

    public long totalNanos() {
        long t = 0;
        for (OpKind k : KINDS) {
            t += nanos(k);
        }
        return t;
    }

    /** Adds {@code other}'s counters to these. */
    public void add(OpStats other) {
        for (int i = 0; i < KINDS.length; i++) {
            calls.addAndGet(i, other.calls.get(i));
            nanos.addAndGet(i, other.nanos.get(i));
            flops.addAndGet(i, other.flops.get(i));
        }
    }

    public void reset() {
        for (int i = 0; i < KINDS.length; i++) {
            calls.set(i, 0);
            nanos.set(i, 0);
            flops.set(i, 0);
        }
    }

    /** A copy of the counters, e.g. to subtract the warm-up. */
    public OpStats copy() {
        OpStats s = new OpStats();
        for (int i = 0; i < KINDS.length; i++) {
            s.calls.set(i, calls.get(i));
            s.nanos.set(i, nanos.get(i));
            s.flops.set(i, flops.get(i));
        }
        return s;
    }

    /** This minus {@code earlier}, per counter. */
    public OpStats minus(OpStats earlier) {
        OpStats s = new OpStats();
        for (int i = 0; i < KINDS.length; i++) {
            s.calls.set(i, calls.get(i) - earlier.calls.get(i));
            s.nanos.set(i, nanos.get(i) - earlier.nanos.get(i));
            s.flops.set(i, flops.get(i) - earlier.flops.get(i));
        }
        return s;
    }
}
