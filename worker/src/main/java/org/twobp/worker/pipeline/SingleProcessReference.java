package org.twobp.worker.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.train.TrainConfig;
import org.twobp.worker.train.Trainer;

/**
 * What a pipeline run must reproduce: the same model, data, global batch and optimizer trained
 * in one process without a pipeline. Used to check that every schedule, with or without 2BP,
 * leaves the same weights and reports the same losses.
 */
public final class SingleProcessReference {

    private SingleProcessReference() {
    }

    /**
     * What the reference run leaves: every parameter by name, and the loss of each step (step 0
     * first). The losses after step 0 depend on every earlier update, so they show a wrong gradient
     * scale that the weights alone show only through the optimizer.
     */
    public record Run(Map<String, float[]> weights, List<Double> losses) {
    }

    /** Weights by parameter name after {@code steps} steps of the batch a {@code ranks}-rank pipeline would use. */
    public static Map<String, float[]> weightsAfter(ModelConfig model, TrainConfig train, PipelineConfig pipeline,
                                                    int ranks, int steps) {
        return run(model, train, pipeline, ranks, steps).weights();
    }

    /** Weights and per-step losses after {@code steps} steps of the batch a {@code ranks}-rank pipeline would use. */
    public static Run run(ModelConfig model, TrainConfig train, PipelineConfig pipeline, int ranks, int steps) {
        int m = pipeline.microbatches(ranks);
        int global = m * train.microBatchSize();
        TrainConfig single = TrainConfig.of(Map.ofEntries(
                Map.entry("data", train.data()), Map.entry("steps", (long) train.steps()),
                Map.entry("batch_size", (long) global), Map.entry("micro_batches", (long) m),
                Map.entry("backward", "split"), Map.entry("optimizer", train.optimizer()), Map.entry("lr", train.lr()),
                Map.entry("min_lr", train.minLr()), Map.entry("warmup_steps", (long) train.warmupSteps()),
                Map.entry("weight_decay", train.weightDecay()), Map.entry("beta1", train.beta1()),
                Map.entry("beta2", train.beta2()), Map.entry("eps", train.eps()), Map.entry("momentum", train.momentum()),
                Map.entry("grad_clip", train.gradClip()), Map.entry("seed", train.seed()), Map.entry("threads", 1L),
                Map.entry("log_every", (long) train.logEvery())));
        try (CpuBackend backend = new CpuBackend(1);
             TokenDataset data = Datasets.open(train.data(), model.seqLen(), model.vocabSize(), train.seed())) {
            Trainer trainer = new Trainer(model, single, backend);
            List<Double> losses = new ArrayList<>();
            for (int s = 0; s < steps; s++) {
                losses.add(trainer.step(data.next(global)).loss());
            }
            return new Run(weights(trainer.model()), losses);
        }
    }

    /** Every parameter of {@code model} by name, copied to the host. */
    public static Map<String, float[]> weights(Model model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Parameter p : model.parameters().list()) {
            out.put(p.name(), model.backend().toHost(p.value()));
        }
        return out;
    }

    /** Largest |a - b| over every element of every parameter, relative to the largest |b| of that parameter. */
    public static double maxRelativeDifference(Map<String, float[]> actual, Map<String, float[]> expected) {
        if (!actual.keySet().equals(expected.keySet())) {
            throw new IllegalArgumentException("parameter sets differ: " + actual.keySet() + " vs " + expected.keySet());
        }
        double worst = 0;
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            float[] b = e.getValue();
            float[] a = actual.get(e.getKey());
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < b.length; i++) {
                scale = Math.max(scale, Math.abs(b[i]));
                diff = Math.max(diff, Math.abs(a[i] - b[i]));
            }
            worst = Math.max(worst, diff / Math.max(scale, 1e-30));
        }
        return worst;
    }

    /** Largest |a - b| / |b| over the steps' losses; the lists must be equally long. */
    public static double maxRelativeLossDifference(List<Double> actual, List<Double> expected) {
        if (actual.size() != expected.size()) {
            throw new IllegalArgumentException(actual.size() + " losses vs " + expected.size() + " expected: " + actual
                    + " vs " + expected);
        }
        double worst = 0;
        for (int s = 0; s < expected.size(); s++) {
            double b = expected.get(s);
            worst = Math.max(worst, Math.abs(actual.get(s) - b) / Math.max(Math.abs(b), 1e-30));
        }
        return worst;
    }
}
