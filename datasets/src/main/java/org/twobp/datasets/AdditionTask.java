package org.twobp.datasets;

/**
 * Multi-digit addition: {@code a+b=s.} with a and b uniform in [0, 10^d), written with d digits
 * each (zero-padded) and the sum with d+1 digits, e.g. d=3: {@code 123+456=0579.}. Fixed widths
 * put every digit at a fixed offset, which a small transformer learns quickly. With
 * {@code reversed} the sum is written least significant digit first ({@code 123+456=9750.}),
 * so each answer digit depends only on digits already seen and the carry: easier still.
 *
 * <p>Scored: the d+1 answer digits.
 */
final class AdditionTask implements SyntheticTask {

    static final int MAX_DIGITS = 18;

    private final int digits;
    private final boolean reversed;
    private final long limit;

    AdditionTask(int digits, boolean reversed) {
        if (digits < 1 || digits > MAX_DIGITS) {
            throw new DatasetException("synthetic:addition needs digits in 1.." + MAX_DIGITS + ", got " + digits);
        }
        this.digits = digits;
        this.reversed = reversed;
        this.limit = pow10(digits);
    }

    @Override
    public int problemLength() {
        return 3 * digits + 4;
    }

    @Override
    public void write(SplitMix64 rng, int[] tokens, boolean[] scored, int at) {
        write(rng.nextLong(limit), rng.nextLong(limit), tokens, scored, at);
    }

    private void write(long a, long b, int[] tokens, boolean[] scored, int at) {
        int p = at;
        p = writeNumber(a, digits, false, tokens, p);
        tokens[p++] = SyntheticVocabulary.PLUS;
        p = writeNumber(b, digits, false, tokens, p);
        tokens[p++] = SyntheticVocabulary.EQUALS;
        int answer = p;
        p = writeNumber(a + b, digits + 1, reversed, tokens, p);
        for (int i = answer; i < p; i++) {
            scored[i] = true;
        }
        tokens[p] = SyntheticVocabulary.END;
    }

    private static int writeNumber(long value, int width, boolean leastSignificantFirst, int[] tokens, int at) {
        for (int i = 0; i < width; i++) {
            int digit = (int) (value % 10);
            value /= 10;
            tokens[leastSignificantFirst ? at + i : at + width - 1 - i] = digit;
        }
        return at + width;
    }

    private static long pow10(int n) {
        long p = 1;
        for (int i = 0; i < n; i++) {
            p *= 10;
        }
        return p;
    }

    @Override
    public String spec() {
        return "synthetic:addition?digits=" + digits + (reversed ? "&reverse=true" : "");
    }

    @Override
    public String example() {
        long a = Long.parseLong("123456789012345678".substring(0, digits));
        long b = Long.parseLong("456789012345678901".substring(0, digits));
        int[] tokens = new int[problemLength()];
        write(a, b, tokens, new boolean[tokens.length], 0);
        return digits + "-digit addition like " + SyntheticVocabulary.decode(tokens) + " (" + problemLength()
                + " tokens, " + (digits + 1) + " answer digits scored" + (reversed ? ", sum lowest digit first" : "")
                + ")";
    }
}
