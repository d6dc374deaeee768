package org.twobp.datasets;

/**
 * A family of small problems with a prompt and an answer, written with {@link SyntheticVocabulary}.
 * Only the answer tokens are scored: loss and accuracy measure whether the model solves the
 * problem, not whether it has learnt the uniform distribution of the prompt.
 */
interface SyntheticTask {

    /** Tokens per problem, including its end marker. */
    int problemLength();

    /**
     * Writes one problem at {@code tokens[at..at+problemLength())} and sets {@code scored[p]} for
     * every position p holding an answer token.
     */
    void write(SplitMix64 rng, int[] tokens, boolean[] scored, int at);

    /** The spec of this task, e.g. {@code synthetic:addition?digits=3}. */
    String spec();

    /** One line on what a problem looks like. */
    String example();
}
