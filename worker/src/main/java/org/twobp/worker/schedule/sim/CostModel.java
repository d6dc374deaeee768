package org.twobp.worker.schedule.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.ScheduleException;

/**
 * What one micro-batch costs on each stage: forward (F), p1 (I), p2 (W), fused backward (B), and
 * the bytes a micro-batch keeps stashed and sends. Values may differ per stage and may be
 * modelled or measured ({@link #fromMeasurements}); the time of every single action of one run is
 * {@link MeasuredCosts} instead.
 *
 * <p>Values are given once (every rank's stage alike), once per rank (P values: the model cut
 * into P pieces in order), or once per stage of the very schedule simulated. A schedule with V
 * chunks per rank cuts each rank's piece into V chunks: chunk stage s lies in piece s / V and
 * costs that piece's value divided by V. Message sizes are not divided: a chunk boundary passes
 * the same activation as a rank boundary.
 */
public final class CostModel {
    private final double[] forward;
    private final double[] backwardInput;
    private final double[] backwardWeight;
    private final double[] fusedBackward;
    private final double[] stashBytes;
    private final double[] messageBytes;
    private final double[] optimizerStep;
    private final ConcatModel concat;

    private CostModel(double[] forward, double[] backwardInput, double[] backwardWeight, double[] fusedBackward,
            double[] stashBytes, double[] messageBytes, double[] optimizerStep, ConcatModel concat) {
        int n = forward.length;
        for (double[] values : new double[][] {backwardInput, backwardWeight, fusedBackward, stashBytes,
                messageBytes, optimizerStep}) {
            if (values.length != n) {
                throw new ScheduleException("cost lists must all have one value per stage (" + n + "), got "
                        + values.length);
            }
        }
        for (double[] values : new double[][] {forward, backwardInput, backwardWeight, stashBytes, messageBytes,
                optimizerStep}) {
            for (double v : values) {
                if (!(v >= 0) || Double.isInfinite(v)) {
                    throw new ScheduleException("costs must be finite and >= 0, got " + Arrays.toString(values));
                }
            }
        }
        this.forward = forward;
        this.backwardInput = backwardInput;
        this.backwardWeight = backwardWeight;
        this.fusedBackward = fusedBackward;
        this.stashBytes = stashBytes;
        this.messageBytes = messageBytes;
        this.optimizerStep = optimizerStep;
        this.concat = concat;
    }

    /** Every stage alike; fused backward = p1 + p2; one stash unit and no message bytes. */
    public static CostModel uniform(double f, double i, double w) {
        return perStage(new double[] {f}, new double[] {i}, new double[] {w});
    }

    /** The paper's idealised table: F = p1 = p2 = 1, fused backward 2, concatenated p2 costs k. */
    public static CostModel paperIdealised() {
        return uniform(1, 1, 1);
    }

    /** One value per stage for F, I and W; fused backward = I + W. */
    public static CostModel perStage(double[] f, double[] i, double[] w) {
        int n = f.length;
        if (n == 0) {
            throw new ScheduleException("costs need at least one stage");
        }
        double[] nan = new double[n];
        Arrays.fill(nan, Double.NaN);
        double[] ones = new double[n];
        Arrays.fill(ones, 1);
        return new CostModel(f.clone(), i.clone(), w.clone(), nan, ones, new double[n], new double[n],
                ConcatModel.linear());
    }

    /**
     * Per-stage costs from timed actions of one or more runs, for building schedules (the
     * automatic scheduler) rather than predicting a run: the median per (stage, kind, micro-batches
     * in the call); p2 over k concatenated micro-batches gives the concatenation factors relative
     * to the one-micro-batch p2 of the same stage. A stage needs a measured F, p1 and
     * one-micro-batch p2; nothing is derived from the fused backward (a no-2BP run) or from a
     * concatenated p2 alone. To predict one measured run, replay its own {@link MeasuredCosts}.
     */
    public static CostModel fromMeasurements(List<MeasuredCost> measurements) {
        if (measurements.isEmpty()) {
            throw new ScheduleException("no measured costs given");
        }
        int n = measurements.get(0).stages();
        Map<String, List<Double>> samples = new HashMap<>();
        for (MeasuredCost m : measurements) {
            if (m.stages() != n) {
                throw new ScheduleException("measurements mix pipelines of " + n + " and " + m.stages()
                        + " stages; simulate one layout at a time");
            }
            if (m.stage() < 0 || m.stage() >= n || m.microbatches() < 1 || !(m.seconds() >= 0)
                    || !m.kind().isCompute() || (m.kind() != ActionKind.W && m.microbatches() != 1)) {
                throw new ScheduleException("bad measurement " + m);
            }
            samples.computeIfAbsent(m.kind() + "/" + m.stage() + "/" + m.microbatches(), k -> new ArrayList<>())
                    .add(m.seconds());
        }
        double[] f = new double[n];
        double[] i = new double[n];
        double[] w = new double[n];
        double[] b = new double[n];
        TreeMap<Integer, List<Double>> ratios = new TreeMap<>();
        for (int s = 0; s < n; s++) {
            f[s] = median(samples, ActionKind.F, s, 1);
            i[s] = median(samples, ActionKind.I, s, 1);
            w[s] = median(samples, ActionKind.W, s, 1);
            b[s] = samples.containsKey("B/" + s + "/1") ? median(samples, ActionKind.B, s, 1) : Double.NaN;
            for (Map.Entry<String, List<Double>> e : samples.entrySet()) {
                String[] key = e.getKey().split("/");
                int k = Integer.parseInt(key[2]);
                if (key[0].equals("W") && Integer.parseInt(key[1]) == s && k > 1 && w[s] > 0) {
                    ratios.computeIfAbsent(k, x -> new ArrayList<>()).add(median(samples, ActionKind.W, s, k) / w[s]);
                }
            }
        }
        CostModel model = new CostModel(f, i, w, b, ones(n), new double[n], new double[n], ConcatModel.linear());
        return ratios.isEmpty() ? model : model.withConcat(ConcatModel.measured(factorTable(ratios)));
    }

    private static double[] ones(int n) {
        double[] v = new double[n];
        Arrays.fill(v, 1);
        return v;
    }

    private static double median(Map<String, List<Double>> samples, ActionKind kind, int stage, int microbatches) {
        List<Double> list = samples.get(kind + "/" + stage + "/" + microbatches);
        if (list == null) {
            String what = switch (kind) {
                case I -> "p1 (I)";
                case W -> "p2 (W) of one micro-batch";
                default -> kind.symbol();
            };
            throw new ScheduleException("no measurement of " + what + " on stage " + stage + " in the measured"
                    + " runs; costs are not derived from other actions (B / 2, a concatenated p2 / k): add a"
                    + " 2BP run that times it (naive runs a one-micro-batch p2 on every stage) or give the costs");
        }
        return MeasuredCosts.median(list.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** Factors for k = 1..K, filling k without a measurement by straight lines between neighbours. */
    private static double[] factorTable(TreeMap<Integer, List<Double>> ratios) {
        int top = ratios.lastKey();
        double[] table = new double[top];
        table[0] = 1;
        int known = 1;
        for (Map.Entry<Integer, List<Double>> e : ratios.entrySet()) {
            int k = e.getKey();
            double value = e.getValue().stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            for (int j = known + 1; j < k; j++) {
                table[j - 1] = table[known - 1] + (value - table[known - 1]) * (j - known) / (k - known);
            }
            table[k - 1] = value;
            known = k;
        }
        return table;
    }

    /**
     * Parses {@code f=1,i=1,w=1[,b=2]}; a value may list one number per stage separated by colons
     * ({@code f=1:1:1:1.5}). Missing keys keep the paper's 1; b defaults to i + w.
     */
    public static CostModel parse(String spec) {
        Map<String, double[]> values = new HashMap<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String key = eq < 0 ? p : p.substring(0, eq).strip().toLowerCase(java.util.Locale.ROOT);
            if (eq < 0 || !List.of("f", "i", "w", "b").contains(key)) {
                throw new ScheduleException("cannot read cost '" + p + "': write f=..,i=..,w=..[,b=..], e.g. "
                        + "f=1,i=1,w=0.5 (colon-separated values give one per stage: f=1:1:2)");
            }
            String[] items = p.substring(eq + 1).split(":");
            double[] v = new double[items.length];
            for (int k = 0; k < items.length; k++) {
                try {
                    v[k] = Double.parseDouble(items[k].strip());
                } catch (NumberFormatException e) {
                    throw new ScheduleException("cost " + key + "=" + p.substring(eq + 1) + " is not a number list");
                }
            }
            values.put(key, v);
        }
        int n = values.values().stream().mapToInt(v -> v.length).max().orElse(1);
        double[] f = spread(values.get("f"), n, "f");
        double[] i = spread(values.get("i"), n, "i");
        double[] w = spread(values.get("w"), n, "w");
        CostModel model = perStage(f, i, w);
        return values.containsKey("b") ? model.withFusedBackward(spread(values.get("b"), n, "b")) : model;
    }

    private static double[] spread(double[] given, int n, String key) {
        double[] out = new double[n];
        if (given == null) {
            Arrays.fill(out, 1);
        } else if (given.length == 1) {
            Arrays.fill(out, given[0]);
        } else if (given.length == n) {
            out = given.clone();
        } else {
            throw new ScheduleException("cost " + key + " has " + given.length + " values but others have " + n
                    + "; give one value or one per stage for each");
        }
        return out;
    }

    /** Fused backward time per stage (one value for all), instead of p1 + p2. */
    public CostModel withFusedBackward(double... b) {
        return new CostModel(forward, backwardInput, backwardWeight, perPart(b, "fused backward"), stashBytes,
                messageBytes, optimizerStep, concat);
    }

    public CostModel withConcat(ConcatModel model) {
        return new CostModel(forward, backwardInput, backwardWeight, fusedBackward, stashBytes, messageBytes,
                optimizerStep, model);
    }

    /** Bytes one micro-batch keeps alive between its F and its last backward piece, per stage. */
    public CostModel withStashBytes(double... bytes) {
        return new CostModel(forward, backwardInput, backwardWeight, fusedBackward, perPart(bytes, "stash bytes"),
                messageBytes, optimizerStep, concat);
    }

    /** Bytes of the activation (and of its gradient) leaving each stage, per micro-batch. */
    public CostModel withMessageBytes(double... bytes) {
        return new CostModel(forward, backwardInput, backwardWeight, fusedBackward, stashBytes,
                perPart(bytes, "message bytes"), optimizerStep, concat);
    }

    public CostModel withOptimizerStep(double... seconds) {
        return new CostModel(forward, backwardInput, backwardWeight, fusedBackward, stashBytes, messageBytes,
                perPart(seconds, "optimizer step"), concat);
    }

    private double[] perPart(double[] given, String what) {
        return spread(given, forward.length, what);
    }

    /** Number of model parts the values describe. */
    public int parts() {
        return forward.length;
    }

    public ConcatModel concat() {
        return concat;
    }

    /**
     * Time of one compute action of {@code kind} on {@code stage} of a pipeline of {@code stages}
     * stages with {@code chunks} stages per rank.
     */
    public double duration(ActionKind kind, int stage, int stages, int chunks, int microbatches) {
        int part = part(stage, stages, chunks);
        double share = share(stages, chunks);
        return switch (kind) {
            case F -> forward[part] * share;
            case I -> backwardInput[part] * share;
            case W -> backwardWeight[part] * share * concat.factor(microbatches);
            case B -> (Double.isNaN(fusedBackward[part])
                    ? backwardInput[part] + backwardWeight[part] : fusedBackward[part]) * share;
            case STEP -> optimizerStep[part] * share;
            default -> 0;
        };
    }

    public double stashBytes(int stage, int stages, int chunks) {
        return stashBytes[part(stage, stages, chunks)] * share(stages, chunks);
    }

    public double messageBytes(int stage, int stages, int chunks) {
        return messageBytes[part(stage, stages, chunks)];
    }

    /**
     * Fraction of a given value that one stage gets: values given per stage of this very pipeline
     * apply as they are; values given once, or per rank, are split evenly over a rank's chunks.
     */
    public double share(int stages, int chunks) {
        part(0, stages, chunks);
        return parts() == stages && parts() != 1 ? 1 : 1.0 / chunks;
    }

    private int part(int stage, int stages, int chunks) {
        if (parts() == stages) {
            return stage;
        }
        if (parts() == 1) {
            return 0;
        }
        if (parts() * chunks == stages) {
            return stage / chunks;
        }
        throw new ScheduleException("costs are given for " + parts() + " stages but the schedule has " + stages
                + " stages (" + chunks + " per rank); give one value, one per rank or one per stage");
    }

    @Override
    public String toString() {
        return "f=" + list(forward) + ",i=" + list(backwardInput) + ",w=" + list(backwardWeight)
                + (Arrays.stream(fusedBackward).allMatch(Double::isNaN) ? "" : ",b=" + list(fusedBackward))
                + " (p2 concatenation " + concat + ")";
    }

    private static String list(double[] v) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < v.length; k++) {
            sb.append(k == 0 ? "" : ":").append(trim(v[k]));
        }
        return sb.toString();
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
