package org.twobp.worker.train;

/**
 * What one optimizer step did.
 *
 * @param loss        mean cross-entropy over the scored targets of the global batch
 * @param scored      scored targets
 * @param correct     scored targets whose arg-max prediction was right
 * @param answers     answers (runs of consecutive scored targets: one sum of the addition task)
 * @param answersRight answers whose every target was predicted right
 * @param gradNorm    global gradient norm before clipping
 * @param gemmFlops   floating-point operations the GEMMs of the step executed
 * @param gemmNanos   time spent inside GEMMs
 */
public record StepResult(int step, double loss, int scored, int correct, int answers, int answersRight, double lr,
                         double gradNorm, int tokens, long nanos, long gemmFlops, long gemmNanos) {

    public double accuracy() {
        return scored == 0 ? 0 : (double) correct / scored;
    }

    /** Exact-match accuracy over whole answers. */
    public double answerAccuracy() {
        return answers == 0 ? 0 : (double) answersRight / answers;
    }

    public double tokensPerSecond() {
        return tokens / (nanos / 1e9);
    }

    /** Achieved GEMM FLOP rate over the whole step time. */
    public double gflops() {
        return gemmFlops / (double) nanos;
    }
}
