package org.twobp.mpi;

/** Element-wise reductions an all-reduce can apply. */
public enum ReduceOp {
    SUM {
        @Override public float apply(float a, float b) { return a + b; }
        @Override public double apply(double a, double b) { return a + b; }
    },
    MAX {
        @Override public float apply(float a, float b) { return Math.max(a, b); }
        @Override public double apply(double a, double b) { return Math.max(a, b); }
    };

    public abstract float apply(float a, float b);

    public abstract double apply(double a, double b);
}
