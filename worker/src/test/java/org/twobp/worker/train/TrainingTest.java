package org.twobp.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;

class TrainingTest {

    static Path config(String name) {
        for (String dir : new String[] {"../configs", "configs"}) {
            Path p = Path.of(dir, name + ".toml");
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new AssertionError("configs/" + name + ".toml not found from " + Path.of("").toAbsolutePath());
    }

    /**
     * llama-tiny on 3-digit addition, 300 steps from configs/llama-tiny.toml. The loss starts near
     * ln(256) = 5.5; guessing a digit uniformly would give ln(10) = 2.30, so ending below 2.0
     * means the model has learned something about the sums, not just which tokens are digits.
     * Typical run: 5.5 -> ~1.5, token accuracy ~0.35-0.5, ~12-20 s on 2 cores.
     */
    @Test
    void llamaTinyLearnsAddition() {
        Path file = config("llama-tiny");
        ModelConfig model = ModelConfig.load(file);
        Map<String, Object> values = TrainConfig.readTable(file);
        values.put("steps", 300L);
        values.put("log_every", 100L);
        TrainConfig train = TrainConfig.of(values);
        List<StepResult> results = TrainMain.train(model, train);
        double first = results.get(0).loss();
        double last = 0;
        double acc = 0;
        for (int i = results.size() - 10; i < results.size(); i++) {
            last += results.get(i).loss() / 10;
            acc += results.get(i).accuracy() / 10;
        }
        assertTrue(first > 5.0, "a fresh model is near uniform over 256 ids: loss " + first);
        assertTrue(last < 2.0, "after 300 steps the loss should be clearly below ln(10) = 2.30, got " + last);
        assertTrue(last < 0.4 * first, "loss " + first + " -> " + last);
        assertTrue(acc > 0.2, "answer-digit accuracy above chance (0.1), got " + acc);
    }

    @Test
    void shippedConfigsParseAndHaveTheExpectedSizes() {
        ModelConfig tiny = ModelConfig.load(config("llama-tiny"));
        ModelConfig small = ModelConfig.load(config("llama-small"));
        ModelConfig big = ModelConfig.load(config("llama-7b"));
        long bigParams = Model.costs(big, 1, big.seqLen()).stream().mapToLong(c -> c.parameters()).sum();
        assertEquals(6_738_415_616L, bigParams, "LLaMa-7B's parameter count (untied head, no biases)");
        long smallParams = Model.costs(small, 1, small.seqLen()).stream().mapToLong(c -> c.parameters()).sum();
        assertTrue(smallParams > 20_000_000 && smallParams < 50_000_000, "llama-small: " + smallParams);
        assertEquals(tiny.layers() + 2, Model.costs(tiny, 1, 8).size());
        TrainConfig.of(TrainConfig.readTable(config("llama-7b")));
    }

    @Test
    void badSettingsAreRejectedWithTheReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.of(Map.of("batch_size", 6L, "micro_batches", 4L)));
        assertTrue(e.getMessage().contains("micro_batches must divide batch_size 6"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
                "[model]\ndim = 30\nn_layers = 1\nn_heads = 4\nffn_hidden = 8\nvocab_size = 9\nseq_len = 4\n", "x.toml"));
        assertTrue(e.getMessage().contains("dim 30 is not a multiple of n_heads 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
                "[model]\ndim = 32\nlayers = 1\n", "x.toml"));
        assertTrue(e.getMessage().contains("unknown key [model].layers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainMain.run(new String[] {"--steps", "3"}));
        assertTrue(e.getMessage().contains("--config is required"), e.getMessage());
    }
}
