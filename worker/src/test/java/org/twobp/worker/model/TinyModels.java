package org.twobp.worker.model;

import java.util.SplittableRandom;

/** Small configurations and batches for model tests. */
final class TinyModels {

    private TinyModels() {
    }

    /** dim 16, 2 blocks, 4 heads sharing 2 key/value heads, vocabulary 11, 6 positions. */
    static ModelConfig config(String norm, String mlp) {
        return new ModelConfig("test-tiny", 16, 2, 4, 2, 24, 11, 6, 10000.0, 1e-5, 42, 0.3, norm, mlp);
    }

    static ModelConfig llama() {
        return config("rmsnorm", "swiglu");
    }

    /** Random ids; every fifth target is ignored (-1). lossScale = 1 / scoredTotal. */
    static MicroBatch batch(ModelConfig cfg, int index, int batch, long seed, int scoredTotal) {
        int n = batch * cfg.seqLen();
        int[] tokens = new int[n];
        int[] targets = new int[n];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            tokens[i] = rng.nextInt(cfg.vocabSize());
            targets[i] = i % 5 == 3 ? MicroBatch.IGNORE : rng.nextInt(cfg.vocabSize());
        }
        MicroBatch mb = new MicroBatch(index, batch, cfg.seqLen(), tokens, targets, 1f);
        int scored = scoredTotal > 0 ? scoredTotal : mb.scoredTargets();
        return new MicroBatch(index, batch, cfg.seqLen(), tokens, targets, 1f / scored);
    }
}
