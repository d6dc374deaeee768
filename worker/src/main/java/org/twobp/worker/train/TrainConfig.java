package org.twobp.worker.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Training settings: the {@code [train]} table of a config file, overridable from the command
 * line. Keys (TOML / command line):
 * <pre>
 *   data            --data            dataset spec (see org.twobp.datasets.Datasets), default synthetic:addition
 *   steps           --steps           optimizer steps
 *   batch_size      --batch-size      sequences per step (the global batch)
 *   micro_batches   --micro-batches   micro-batches per step (must divide batch_size)
 *   backward        --backward        split (2BP: all p1, then one p2 over the micro-batches) | fused
 *   optimizer       --optimizer       adamw | sgd
 *   lr              --lr              peak learning rate
 *   min_lr          --min-lr          learning rate at the end of the cosine decay
 *   warmup_steps    --warmup-steps    linear warm-up steps
 *   weight_decay    --weight-decay    decoupled (AdamW) or L2 (SGD) decay of matrices
 *   beta1, beta2, eps                 AdamW
 *   momentum        --momentum        SGD
 *   grad_clip       --grad-clip       max global gradient norm (0 = off)
 *   seed            --seed            data seed
 *   threads         --threads         CPU threads for this process (0 = all cores)
 *   log_every       --log-every       print a line every n steps
 *   backend         --backend         auto (cuda where the node has a GPU, else cpu) | cpu | cuda (one GPU
 *                                     per rank) | cuda-emulated (the CUDA kernels on the host, for tests; slow)
 *   precision       --precision       GEMM operands on the GPU: fp32 | tf32 | bf16 | fp16 (weights, gradients
 *                                     and optimizer state stay float32); the CPU backend computes fp32 only
 *   loss_scale      --loss-scale      fp16 only: initial dynamic loss scale (0 = 2^16); halves on overflow,
 *                                     doubles after 2000 good steps
 * </pre>
 */
public record TrainConfig(String data, int steps, int batchSize, int microBatches, String backward, String optimizer,
                          double lr, double minLr, int warmupSteps, double weightDecay, double beta1, double beta2,
                          double eps, double momentum, double gradClip, long seed, int threads, int logEvery,
                          String backend, String precision, double lossScale) {

    /** Keys of the [train] table. */
    public static final List<String> KEYS = List.of("data", "steps", "batch_size", "micro_batches", "backward",
            "optimizer", "lr", "min_lr", "warmup_steps", "weight_decay", "beta1", "beta2", "eps", "momentum",
            "grad_clip", "seed", "threads", "log_every", "backend", "precision", "loss_scale");

    public TrainConfig {
        List<String> problems = new ArrayList<>();
        if (steps < 1) {
            problems.add("steps must be >= 1, got " + steps);
        }
        if (batchSize < 1) {
            problems.add("batch_size must be >= 1, got " + batchSize);
        }
        if (microBatches < 1 || (batchSize >= 1 && batchSize % microBatches != 0)) {
            problems.add("micro_batches must divide batch_size " + batchSize + ", got " + microBatches);
        }
        if (!List.of("split", "fused").contains(backward)) {
            problems.add("backward must be split or fused, got \"" + backward + "\"");
        }
        if (!List.of("adamw", "sgd").contains(optimizer)) {
            problems.add("optimizer must be adamw or sgd, got \"" + optimizer + "\"");
        }
        if (!(lr > 0) || minLr < 0 || minLr > lr) {
            problems.add("need 0 <= min_lr <= lr and lr > 0, got lr " + lr + ", min_lr " + minLr);
        }
        if (warmupSteps < 0) {
            problems.add("warmup_steps must be >= 0, got " + warmupSteps);
        }
        if (threads < 0) {
            problems.add("threads must be >= 0 (0 = all cores), got " + threads);
        }
        if (logEvery < 1) {
            problems.add("log_every must be >= 1, got " + logEvery);
        }
        if (!List.of("auto", "cpu", "cuda", "cuda-emulated").contains(backend)) {
            problems.add("backend must be auto, cpu, cuda or cuda-emulated, got \"" + backend + "\"");
        }
        if (!List.of("fp32", "tf32", "bf16", "fp16").contains(precision)) {
            problems.add("precision must be fp32, tf32, bf16 or fp16, got \"" + precision + "\"");
        } else if (backend.equals("cpu") && !precision.equals("fp32")) {
            problems.add("precision " + precision + " needs a GPU backend (backend = \"cuda\"); the cpu backend computes fp32");
        }
        if (lossScale != 0 && !(lossScale >= 1 && lossScale < 1e19)) {
            problems.add("loss_scale must be 0 (the default 2^16) or a number >= 1, got " + lossScale);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid training settings: " + String.join("; ", problems));
        }
    }

    /** Defaults, used for anything neither the file nor the command line sets. */
    public static Map<String, Object> defaults() {
        Map<String, Object> d = new TreeMap<>();
        d.put("data", "synthetic:addition");
        d.put("steps", 300L);
        d.put("batch_size", 16L);
        d.put("micro_batches", 1L);
        d.put("backward", "split");
        d.put("optimizer", "adamw");
        d.put("lr", 3e-3);
        d.put("min_lr", 3e-4);
        d.put("warmup_steps", 20L);
        d.put("weight_decay", 0.1);
        d.put("beta1", 0.9);
        d.put("beta2", 0.95);
        d.put("eps", 1e-8);
        d.put("momentum", 0.9);
        d.put("grad_clip", 1.0);
        d.put("seed", 1L);
        d.put("threads", 0L);
        d.put("log_every", 10L);
        d.put("backend", "auto");
        d.put("precision", "fp32");
        d.put("loss_scale", 0.0);
        return d;
    }

    /** The [train] table of a TOML file (absent table: all defaults). */
    public static Map<String, Object> readTable(Path file) {
        return TomlTables.read(file, "train", KEYS);
    }

    /** Builds the settings from defaults overlaid by {@code values} (TOML types or command-line strings). */
    public static TrainConfig of(Map<String, Object> values) {
        Map<String, Object> v = defaults();
        for (Map.Entry<String, Object> e : values.entrySet()) {
            if (!KEYS.contains(e.getKey())) {
                throw new IllegalArgumentException("unknown training setting " + e.getKey() + "; known: " + KEYS);
            }
            v.put(e.getKey(), e.getValue());
        }
        return new TrainConfig(str(v, "data"), integer(v, "steps"), integer(v, "batch_size"),
                integer(v, "micro_batches"), str(v, "backward").toLowerCase(Locale.ROOT),
                str(v, "optimizer").toLowerCase(Locale.ROOT), number(v, "lr"), number(v, "min_lr"),
                integer(v, "warmup_steps"), number(v, "weight_decay"), number(v, "beta1"), number(v, "beta2"),
                number(v, "eps"), number(v, "momentum"), number(v, "grad_clip"), (long) number(v, "seed"),
                integer(v, "threads"), integer(v, "log_every"), str(v, "backend").toLowerCase(Locale.ROOT),
                str(v, "precision").toLowerCase(Locale.ROOT), number(v, "loss_scale"));
    }

    private static String str(Map<String, Object> v, String key) {
        return String.valueOf(v.get(key));
    }

    private static int integer(Map<String, Object> v, String key) {
        double d = number(v, key);
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " must be an integer, got " + v.get(key));
        }
        return (int) d;
    }

    private static double number(Map<String, Object> v, String key) {
        Object o = v.get(key);
        if (o instanceof Number n) {
            return n.doubleValue();
        }
        try {
            return Double.parseDouble(String.valueOf(o).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got \"" + o + "\"", e);
        }
    }

    /** The optimizer these settings describe, over {@code params}. */
    public org.twobp.worker.optim.Optimizer newOptimizer(org.twobp.worker.backend.Backend backend,
                                                         org.twobp.worker.tensor.ParameterSet params) {
        return "sgd".equals(optimizer)
                ? new org.twobp.worker.optim.SgdMomentum(backend, params, (float) momentum, (float) weightDecay, false)
                : new org.twobp.worker.optim.AdamW(backend, params, (float) beta1, (float) beta2, (float) eps,
                        (float) weightDecay);
    }

    /** The loss scaler this run's precision needs (dynamic for fp16). */
    public org.twobp.worker.optim.LossScaler newLossScaler() {
        return org.twobp.worker.optim.LossScaler.forPrecision(precision, lossScale);
    }

    /** Warm-up then cosine decay over the run's steps. */
    public org.twobp.worker.optim.LrSchedule lrSchedule() {
        return new org.twobp.worker.optim.LrSchedule(lr, minLr, Math.min(warmupSteps, steps), steps);
    }

    /** Sequences per micro-batch. */
    public int microBatchSize() {
        return batchSize / microBatches;
    }

    /** The [train] table as TOML, to save the resolved configuration with a run. */
    public String toToml() {
        return toToml(new TomlWriter()).toString();
    }

    /** Appends the [train] table to {@code w}. */
    public TomlWriter toToml(TomlWriter w) {
        return w.table("train").put("data", data).put("steps", steps).put("batch_size", batchSize)
                .put("micro_batches", microBatches).put("backward", backward).put("optimizer", optimizer).put("lr", lr)
                .put("min_lr", minLr).put("warmup_steps", warmupSteps).put("weight_decay", weightDecay)
                .put("beta1", beta1).put("beta2", beta2).put("eps", eps).put("momentum", momentum)
                .put("grad_clip", gradClip).put("seed", seed).put("threads", threads).put("log_every", logEvery)
                .put("backend", backend).put("precision", precision).put("loss_scale", lossScale);
    }
}
