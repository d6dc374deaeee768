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
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.Backends;
import org.twobp.worker.model.ModelConfig;

/**
 * Single-process training from the command line:
 * <pre>
 *   java -cp ... org.twobp.worker.train.TrainMain --config configs/llama-tiny.toml \
 *        --data synthetic:addition --steps 300
 * </pre>
 * Settings come from the config's [model] and [train] tables, then the command line
 * ({@code --steps}, {@code --batch-size}, ...; see {@link TrainConfig}). Prints one line per
 * {@code log_every} steps: step, loss, accuracy over the scored targets (and exact-match
 * accuracy of whole answers, e.g. complete sums), learning rate, gradient norm, tokens/s and the
 * achieved GEMM GFLOP/s.
 */
public final class TrainMain {

    private TrainMain() {
    }

    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (IllegalArgumentException | DatasetException e) {
            // bad command line, config or data: the message says what and how to fix it
            System.err.println("TrainMain: " + e.getMessage());
            System.exit(2);
        }
    }

    static String usage() {
        return String.join("\n",
                "usage: TrainMain --config FILE [--data SPEC] [--steps N] [--batch-size B] [--micro-batches M]",
                "                 [--backward split|fused] [--optimizer adamw|sgd] [--lr X] [--min-lr X]",
                "                 [--warmup-steps N] [--weight-decay X] [--grad-clip X] [--momentum X]",
                "                 [--seed N] [--threads N] [--log-every N] [--vocab-size V] [--seq-len T]",
                "Trains the model of FILE's [model] table on one process; FILE's [train] table gives defaults.",
                "Data specs: synthetic:addition[?digits=3], synthetic:copy[?length=8], text:PATH,",
                "            tokens:PATH?dtype=uint16, hdf5:PATH?dataset=tokens");
    }

    /** Runs training; returns the exit code (0 ok, 2 usage error). */
    static int run(String[] args) {
        Path configPath = null;
        Map<String, Object> overrides = new LinkedHashMap<>();
        Integer vocab = null;
        Integer seqLen = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(usage());
                return 0;
            }
            if (!a.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --option value, got \"" + a + "\"\n" + usage());
            }
            String key = a.substring(2);
            String value = args[++i];
            switch (key) {
                case "config" -> configPath = Path.of(value);
                case "vocab-size" -> vocab = Integer.parseInt(value);
                case "seq-len" -> seqLen = Integer.parseInt(value);
                default -> {
                    String k = key.replace('-', '_');
                    if (!TrainConfig.KEYS.contains(k)) {
                        throw new IllegalArgumentException("unknown option --" + key + "\n" + usage());
                    }
                    overrides.put(k, value);
                }
            }
        }
        if (configPath == null) {
            throw new IllegalArgumentException("--config is required\n" + usage());
        }
        ModelConfig model = ModelConfig.load(configPath);
        if (vocab != null) {
            model = model.withVocabSize(vocab);
        }
        if (seqLen != null) {
            model = model.withSeqLen(seqLen);
        }
        Map<String, Object> values = TrainConfig.readTable(configPath);
        values.putAll(overrides);
        TrainConfig train = TrainConfig.of(values);
        train(model, train);
        return 0;
    }

    /** Trains and prints progress; returns the results of every step. */
    static List<StepResult> train(ModelConfig model, TrainConfig train) {
        List<StepResult> results = new ArrayList<>();
        try (Backend backend = Backends.create(train.backend(), train.precision(), train.threads(), 0, 1);
             TokenDataset data = Datasets.open(train.data(), model.seqLen(), model.vocabSize(), train.seed())) {
            Trainer trainer = new Trainer(model, train, backend);
            System.out.println("model    " + model.describe() + ", " + String.format(Locale.ROOT, "%.2fM",
                    trainer.model().parameterCount() / 1e6) + " parameters");
            System.out.println("data     " + data.describe());
            System.out.println("train    " + train.steps() + " steps, batch " + train.batchSize() + " x "
                    + model.seqLen() + " in " + train.microBatches() + " micro-batch(es), " + train.backward()
                    + " backward, " + trainer.optimizer().describe() + ", lr " + train.lr() + " -> " + train.minLr()
                    + " (warm-up " + train.warmupSteps() + "), grad clip " + train.gradClip());
            System.out.println("backend  " + backend.describe());
            long start = System.nanoTime();
            for (int s = 0; s < train.steps(); s++) {
                Batch batch = data.next(train.batchSize());
                StepResult r = trainer.step(batch);
                results.add(r);
                if (s == 0 || (s + 1) % train.logEvery() == 0 || s == train.steps() - 1) {
                    System.out.println(format(r, train.steps()));
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.println(summary(results, seconds));
            System.out.println(backend.memory().snapshot().format());
        }
        return results;
    }

    static String format(StepResult r, int steps) {
        int width = String.valueOf(steps).length();
        return String.format(Locale.ROOT, "step %" + width + "d/%d | loss %.4f | acc %.3f (exact %.3f) | lr %.2e"
                        + " | norm %.3f | %.0f tok/s | %.1f GFLOP/s | %.1f ms",
                r.step() + 1, steps, r.loss(), r.accuracy(), r.answerAccuracy(), r.lr(), r.gradNorm(),
                r.tokensPerSecond(), r.gflops(), r.nanos() / 1e6);
    }

    static String summary(List<StepResult> results, double seconds) {
        int k = Math.min(10, results.size());
        double first = 0;
        double last = 0;
        double lastAcc = 0;
        for (int i = 0; i < k; i++) {
            first += results.get(i).loss() / k;
            last += results.get(results.size() - 1 - i).loss() / k;
            lastAcc += results.get(results.size() - 1 - i).accuracy() / k;
        }
        long tokens = 0;
        for (StepResult r : results) {
            tokens += r.tokens();
        }
        return String.format(Locale.ROOT, "done     %d steps in %.1f s (%.0f tok/s): loss %.4f -> %.4f (mean of the"
                        + " first and last %d steps), accuracy %.3f", results.size(), seconds, tokens / seconds, first,
                last, k, lastAcc);
    }
}
