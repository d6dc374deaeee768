package org.twobp.worker.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.twobp.datasets.Batch;
import org.twobp.datasets.DatasetException;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.worker.backend.OpKind;
import org.twobp.worker.backend.OpStats;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.Backends;
import org.twobp.worker.model.BlockCost;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/**
 * The CPU engine's figures, in one run so they can be compared as ratios on a noisy machine:
 * <ol>
 *   <li>SGEMM GFLOP/s at the model's own shapes (every projection's F, p1 and p2, p2 over the
 *       concatenated micro-batches, the attention products), through the backend;</li>
 *   <li>the training step: time, tokens/s, the GEMM FLOPs it executed per second of step time,
 *       and where the time went (share of GEMM and of every other kind of operation), for the
 *       split (2BP) and the fused backward.</li>
 * </ol>
 * <pre>
 *   java -cp ... org.twobp.worker.train.BenchEngine [--config configs/llama-small.toml]
 *        [--steps 3] [--warmup 1] [--batch-size B] [--micro-batches M] [--threads N]
 *        [--backend cpu|cuda|cuda-emulated] [--precision fp32|tf32|bf16]
 * </pre>
 */
public final class BenchEngine {

    private BenchEngine() {
    }

    public static void main(String[] args) {
        try {
            run(args);
        } catch (IllegalArgumentException | DatasetException e) {
            System.err.println("BenchEngine: " + e.getMessage());
            System.exit(2);
        } catch (IllegalStateException e) {
            System.err.println("BenchEngine: " + e.getMessage()); // e.g. no GPU for --backend cuda
            System.exit(1);
        }
    }

    static void run(String[] args) {
        Map<String, String> opt = new LinkedHashMap<>();
        opt.put("config", "configs/llama-small.toml");
        opt.put("steps", "3");
        opt.put("warmup", "1");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--help") || !args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: BenchEngine [--config FILE] [--steps N] [--warmup N]"
                        + " [--batch-size B] [--micro-batches M] [--threads N] [--backend cpu|cuda|cuda-emulated] [--precision fp32|tf32|bf16]");
            }
            opt.put(args[i].substring(2), args[++i]);
        }
        Path file = Path.of(opt.get("config"));
        ModelConfig cfg = ModelConfig.load(file);
        Map<String, Object> values = TrainConfig.readTable(file);
        if (opt.containsKey("batch-size")) {
            values.put("batch_size", opt.get("batch-size"));
        }
        if (opt.containsKey("micro-batches")) {
            values.put("micro_batches", opt.get("micro-batches"));
        }
        for (String key : new String[] {"threads", "backend", "precision"}) {
            if (opt.containsKey(key)) {
                values.put(key, opt.get(key));
            }
        }
        int steps = Integer.parseInt(opt.get("steps"));
        int warmup = Integer.parseInt(opt.get("warmup"));
        values.put("steps", (long) (steps + warmup));
        values.put("warmup_steps", 0L);
        TrainConfig base = TrainConfig.of(values);
        try (Backend be = Backends.create(base.backend(), base.precision(), base.threads(), 0, 1)) {
            System.out.println("backend  " + be.describe());
            System.out.println("model    " + cfg.describe());
            gemmShapes(be, cfg, base);
            System.out.println();
            System.out.printf(Locale.ROOT, "training step: batch %d x %d in %d micro-batches of %d, %d timed step(s)"
                            + " after %d warm-up%n", base.batchSize(), cfg.seqLen(), base.microBatches(),
                    base.microBatchSize(), steps, warmup);
            List<BlockCost> costs = Model.costs(cfg, base.microBatchSize(), cfg.seqLen());
            double f = costs.stream().mapToLong(BlockCost::forwardFlops).sum() * (double) base.microBatches();
            double p1 = costs.stream().mapToLong(BlockCost::p1Flops).sum() * (double) base.microBatches();
            double p2 = costs.stream().mapToLong(BlockCost::p2Flops).sum() * (double) base.microBatches();
            System.out.printf(Locale.ROOT, "GEMM work per step (cost model = executed): %.1f GFLOP = F %.1f + p1 %.1f"
                    + " + p2 %.1f%n", (f + p1 + p2) / 1e9, f / 1e9, p1 / 1e9, p2 / 1e9);
            List<String> rows = trainingSteps(be, cfg, values, steps, warmup);
            System.out.println(String.format(Locale.ROOT, "%-8s %9s %9s %12s %12s %10s  %s", "backward", "step ms",
                    "tok/s", "GFLOP/s step", "GFLOP/s gemm", "gemm share", "other shares of the step"));
            rows.forEach(System.out::println);
        }
    }

    // ---------------------------------------------------------------- GEMM at the model's shapes

    private record Shape(String name, boolean ta, boolean tb, int m, int n, int k, int batch) {
        long flops() {
            return 2L * m * n * k * batch;
        }
    }

    private static void gemmShapes(Backend be, ModelConfig cfg, TrainConfig train) {
        int t = cfg.seqLen();
        int rows = train.microBatchSize() * t;
        int mbs = train.microBatches();
        int c = cfg.dim();
        int w = c + 2 * cfg.kvDim();
        int f = cfg.ffnHidden();
        int up = "gelu".equals(cfg.mlp()) ? f : 2 * f;
        int v = cfg.vocabSize();
        int hd = cfg.headDim();
        int g = cfg.heads() / cfg.kvHeads();
        List<Shape> shapes = new ArrayList<>();
        linear(shapes, "attn qkv", c, w, rows, mbs);
        linear(shapes, "attn wo", c, c, rows, mbs);
        linear(shapes, "mlp up", c, up, rows, mbs);
        linear(shapes, "mlp down", f, c, rows, mbs);
        linear(shapes, "head", c, v, rows, mbs);
        shapes.add(new Shape("attn scores q k^T (per kv head)", false, true, t, t, hd, g));
        shapes.add(new Shape("attn P v (per kv head)", false, false, t, hd, t, g));
        System.out.printf(Locale.ROOT, "%nSGEMM at the shapes of %s, micro-batch %d x %d (N = %d rows), %d micro-batches"
                + " per step:%n", cfg.name(), train.microBatchSize(), t, rows, mbs);
        System.out.println(String.format(Locale.ROOT, "%-34s %6s %6s %6s %5s %9s", "operation", "m", "n", "k", "batch",
                "GFLOP/s"));
        // Round-robin over the shapes, best of the rounds: a burst of load elsewhere on the
        // machine then spoils one round of a shape, not its figure.
        double[] best = new double[shapes.size()];
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < shapes.size(); i++) {
                best[i] = Math.max(best[i], measure(be, shapes.get(i)));
            }
        }
        for (int i = 0; i < shapes.size(); i++) {
            Shape s = shapes.get(i);
            System.out.println(String.format(Locale.ROOT, "%-34s %6d %6d %6d %5d %9.1f", s.name, s.m, s.n, s.k,
                    s.batch, best[i]));
        }
    }

    /** F, p1, p2 of one micro-batch and p2 over all micro-batches concatenated. */
    private static void linear(List<Shape> out, String name, int in, int o, int rows, int mbs) {
        out.add(new Shape(name + " F    y = x W^T", false, true, rows, o, in, 1));
        out.add(new Shape(name + " p1   dx = dy W", false, false, rows, in, o, 1));
        out.add(new Shape(name + " p2   dW += dy^T x", true, false, o, in, rows, 1));
        if (mbs > 1) {
            out.add(new Shape(name + " p2 x" + mbs + " concatenated", true, false, o, in, rows * mbs, 1));
        }
    }

    private static double measure(Backend be, Shape s) {
        int aRows = s.ta ? s.k : s.m;
        int aCols = s.ta ? s.m : s.k;
        int bRows = s.tb ? s.n : s.k;
        int bCols = s.tb ? s.k : s.n;
        Tensor a = be.allocate(MemoryCategory.WORKSPACE, s.batch * aRows * aCols);
        Tensor b = be.allocate(MemoryCategory.WORKSPACE, bRows * bCols);
        Tensor c = be.allocate(MemoryCategory.WORKSPACE, s.batch * s.m * s.n);
        be.fill(a, 0.01f);
        be.fill(b, 0.02f);
        be.fill(c, 0f);
        Runnable call = () -> {
            be.gemmStridedBatched(s.ta, s.tb, s.m, s.n, s.k, 1f, a, 0, aCols, aRows * aCols, b, 0,
                    bCols, 0, 1f, c, 0, s.n, s.m * s.n, s.batch);
            be.synchronize();
        };
        call.run();
        double best = Double.MAX_VALUE;
        long budget = System.nanoTime() + 100_000_000L;
        int reps = 0;
        while (reps < 3 || (System.nanoTime() < budget && reps < 200)) {
            long t0 = System.nanoTime();
            call.run();
            best = Math.min(best, System.nanoTime() - t0);
            reps++;
        }
        be.free(a);
        be.free(b);
        be.free(c);
        return s.flops() / best;
    }

    // ---------------------------------------------------------------- training step

    /**
     * The split (2BP) and the fused backward, each on its own copy of the model, stepping in
     * alternation so that both see the same load on the machine.
     */
    private static List<String> trainingSteps(Backend be, ModelConfig cfg, Map<String, Object> values, int steps,
                                              int warmup) {
        String[] modes = {"split", "fused"};
        Trainer[] trainers = new Trainer[modes.length];
        TokenDataset[] data = new TokenDataset[modes.length];
        TrainConfig[] configs = new TrainConfig[modes.length];
        OpStats[] stats = new OpStats[modes.length];
        long[] nanos = new long[modes.length];
        long[] tokens = new long[modes.length];
        try {
            for (int i = 0; i < modes.length; i++) {
                Map<String, Object> v = new LinkedHashMap<>(values);
                v.put("backward", modes[i]);
                configs[i] = TrainConfig.of(v);
                trainers[i] = new Trainer(cfg, configs[i], be);
                data[i] = Datasets.open(configs[i].data(), cfg.seqLen(), cfg.vocabSize(), configs[i].seed());
                for (int w = 0; w < warmup; w++) {
                    trainers[i].step(data[i].next(configs[i].batchSize()));
                }
                stats[i] = new OpStats();
            }
            for (int s = 0; s < steps; s++) {
                for (int i = 0; i < modes.length; i++) {
                    Batch batch = data[i].next(configs[i].batchSize());
                    OpStats before = be.stats().copy();
                    StepResult r = trainers[i].step(batch);
                    be.synchronize();
                    stats[i].add(be.stats().minus(before));
                    nanos[i] += r.nanos();
                    tokens[i] += r.tokens();
                }
            }
        } finally {
            for (TokenDataset d : data) {
                if (d != null) {
                    d.close();
                }
            }
        }
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < modes.length; i++) {
            OpStats d = stats[i];
            StringBuilder shares = new StringBuilder();
            for (OpKind k : OpKind.values()) {
                if (k != OpKind.GEMM && d.nanos(k) > 0) {
                    shares.append(String.format(Locale.ROOT, "%s %.1f%%  ", k.label(), 100.0 * d.nanos(k) / nanos[i]));
                }
            }
            shares.append(String.format(Locale.ROOT, "untracked %.1f%%", 100.0 * (nanos[i] - d.totalNanos()) / nanos[i]));
            rows.add(String.format(Locale.ROOT, "%-8s %9.1f %9.0f %12.1f %12.1f %9.1f%%  %s", modes[i],
                    nanos[i] / 1e6 / steps, tokens[i] / (nanos[i] / 1e9), d.flops(OpKind.GEMM) / (double) nanos[i],
                    d.flops(OpKind.GEMM) / (double) d.nanos(OpKind.GEMM), 100.0 * d.nanos(OpKind.GEMM) / nanos[i],
                    shares));
        }
        return rows;
    }
}
