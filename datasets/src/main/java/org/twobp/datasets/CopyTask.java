package org.twobp.datasets;

/**
 * Sequence copy: n random digits, a separator, the same n digits again, e.g. n=6:
 * {@code 314159|314159.}. Solving it needs attention to the position n+1 tokens back, the
 * basic induction-head skill.
 *
 * <p>Scored: the n copied digits.
 */
final class CopyTask implements SyntheticTask {

    private final int length;

    CopyTask(int length) {
        if (length < 1) {
            throw new DatasetException("synthetic:copy needs length >= 1, got " + length);
        }
        this.length = length;
    }

    @Override
    public int problemLength() {
        return 2 * length + 2;
    }

    @Override
    public void write(SplitMix64 rng, int[] tokens, boolean[] scored, int at) {
        for (int i = 0; i < length; i++) {
            tokens[at + i] = rng.nextInt(10);
        }
        int copy = at + length + 1;
        tokens[copy - 1] = SyntheticVocabulary.SEPARATOR;
        for (int i = 0; i < length; i++) {
            tokens[copy + i] = tokens[at + i];
            scored[copy + i] = true;
        }
        tokens[copy + length] = SyntheticVocabulary.END;
    }

    @Override
    public String spec() {
        return "synthetic:copy?length=" + length;
    }

    @Override
    public String example() {
        return "copy of " + length + " digits like " + "3141592653589793".repeat(1 + length / 16).substring(0, length)
                + "|<same digits>. (" + problemLength() + " tokens, " + length + " copied digits scored)";
    }
}
