package org.twobp.worker.schedule;

/**
 * What one entry of a rank's action list does. The letters are the text form used in grids and
 * CSV files: {@code F3}, {@code I3}, {@code W[4-7]}, {@code B3}, {@code SEND_F3}, {@code STEP}.
 */
public enum ActionKind {
    /** Forward of one micro-batch through one stage; its activations are stashed until backward. */
    F("F"),
    /** Backward-p1 (backward-input): dL/d(input), which the previous stage is waiting for. */
    I("I"),
    /** Backward-p2 (backward-weight) over one micro-batch or several concatenated into one call. */
    W("W"),
    /** Fused backward, p1 immediately followed by p2 of the same micro-batch: the no-2BP baseline. */
    B("B"),
    /** Post the send of a forward activation to the rank holding the next stage. */
    SEND_F("SEND_F"),
    /** Post the receive of a forward activation from the rank holding the previous stage. */
    RECV_F("RECV_F"),
    /** Post the send of an input-gradient to the rank holding the previous stage. */
    SEND_B("SEND_B"),
    /** Post the receive of an output-gradient from the rank holding the next stage. */
    RECV_B("RECV_B"),
    /** Optimizer step over every stage this rank holds; it must follow the last p2 of the step. */
    STEP("STEP");

    private final String symbol;

    ActionKind(String symbol) {
        this.symbol = symbol;
    }

    /** The text form's letters, e.g. {@code "F"} or {@code "SEND_B"}. */
    public String symbol() {
        return symbol;
    }

    /** F, I, W and B take compute time; the others only move data or step the optimizer. */
    public boolean isCompute() {
        return this == F || this == I || this == W || this == B;
    }

    public boolean isCommunication() {
        return this == SEND_F || this == RECV_F || this == SEND_B || this == RECV_B;
    }

    public boolean isSend() {
        return this == SEND_F || this == SEND_B;
    }

    public boolean isReceive() {
        return this == RECV_F || this == RECV_B;
    }

    /** I and B produce the input-gradient that the previous stage's backward consumes. */
    public boolean producesInputGradient() {
        return this == I || this == B;
    }

    /** Finds a kind by its text-form letters. */
    public static ActionKind ofSymbol(String symbol) {
        for (ActionKind kind : values()) {
            if (kind.symbol.equals(symbol)) {
                return kind;
            }
        }
        throw new ScheduleException("unknown action kind '" + symbol
                + "': use F, I, W, B, SEND_F, RECV_F, SEND_B, RECV_B or STEP");
    }
}
