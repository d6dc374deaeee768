package org.twobp.worker.schedule;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One entry of a rank's action list.
 *
 * <p>{@code stage} is the (virtual) stage the action works on: with one stage per rank it equals
 * the rank; with V chunks per rank it is the chunk's position in the whole model (see
 * {@link Placement}). Sends carry the stage that produced the data, receives the stage that will
 * consume it, and {@code peer} is the other rank; compute actions and STEP have {@code peer = -1}.
 * STEP has {@code stage = -1} and no micro-batches.
 */
public record Action(ActionKind kind, int stage, MicroBatches microbatches, int peer) {
    private static final Pattern TEXT =
            Pattern.compile("(\\d+)?(SEND_F|RECV_F|SEND_B|RECV_B|STEP|F|I|W|B)(.*)");

    public Action {
        if (kind == ActionKind.STEP) {
            if (stage != -1 || !microbatches.isEmpty() || peer != -1) {
                throw new ScheduleException("STEP carries no stage, micro-batch or peer");
            }
        } else {
            if (stage < 0) {
                throw new ScheduleException(kind.symbol() + " needs a stage >= 0, got " + stage);
            }
            if (microbatches.isEmpty()) {
                throw new ScheduleException(kind.symbol() + " on stage " + stage + " needs a micro-batch");
            }
            if (kind != ActionKind.W && microbatches.size() > 1) {
                throw new ScheduleException("only W may work on several micro-batches at once, not "
                        + kind.symbol() + microbatches.text());
            }
            if (kind.isCommunication() != (peer >= 0)) {
                throw new ScheduleException(kind.isCommunication()
                        ? kind.symbol() + " needs the peer rank it talks to"
                        : kind.symbol() + " is compute and has no peer");
            }
        }
    }

    public static Action forward(int stage, int microbatch) {
        return new Action(ActionKind.F, stage, MicroBatches.of(microbatch), -1);
    }

    public static Action backwardInput(int stage, int microbatch) {
        return new Action(ActionKind.I, stage, MicroBatches.of(microbatch), -1);
    }

    public static Action backwardWeight(int stage, int microbatch) {
        return new Action(ActionKind.W, stage, MicroBatches.of(microbatch), -1);
    }

    /** One p2 call over several micro-batches, concatenated along the batch dimension. */
    public static Action backwardWeight(int stage, MicroBatches microbatches) {
        return new Action(ActionKind.W, stage, microbatches, -1);
    }

    public static Action fusedBackward(int stage, int microbatch) {
        return new Action(ActionKind.B, stage, MicroBatches.of(microbatch), -1);
    }

    public static Action communication(ActionKind kind, int stage, int microbatch, int peer) {
        if (!kind.isCommunication()) {
            throw new ScheduleException(kind.symbol() + " is not a send or a receive");
        }
        return new Action(kind, stage, MicroBatches.of(microbatch), peer);
    }

    public static Action step() {
        return new Action(ActionKind.STEP, -1, MicroBatches.NONE, -1);
    }

    /** The single micro-batch of F, I, B or a send/receive (or of a one-micro-batch W). */
    public int microbatch() {
        if (microbatches.size() != 1) {
            throw new ScheduleException(text(true) + " works on " + microbatches.size() + " micro-batches, not one");
        }
        return microbatches.first();
    }

    public boolean isCompute() {
        return kind.isCompute();
    }

    /**
     * The message this send or receive belongs to: a send and its receive have equal keys, so the
     * executor can derive MPI tags from (direction, stage boundary, micro-batch) alone.
     */
    public MessageKey messageKey() {
        return switch (kind) {
            case SEND_F -> new MessageKey(MessageKey.Direction.FORWARD, stage, stage + 1, microbatch());
            case RECV_F -> new MessageKey(MessageKey.Direction.FORWARD, stage - 1, stage, microbatch());
            case SEND_B -> new MessageKey(MessageKey.Direction.BACKWARD, stage, stage - 1, microbatch());
            case RECV_B -> new MessageKey(MessageKey.Direction.BACKWARD, stage + 1, stage, microbatch());
            default -> throw new ScheduleException(text(true) + " is not a send or a receive");
        };
    }

    /**
     * Text form: {@code F3}, {@code W[4-7]}, {@code SEND_B3}, {@code STEP}; with {@code withStage} the
     * stage is prefixed ({@code 5F3}), which is needed when a rank holds more than one stage.
     */
    public String text(boolean withStage) {
        if (kind == ActionKind.STEP) {
            return kind.symbol();
        }
        return (withStage ? Integer.toString(stage) : "") + kind.symbol() + microbatches.text();
    }

    @Override
    public String toString() {
        return text(true);
    }

    /**
     * Parses the text form written by {@link #text(boolean)} for an action of {@code rank}. Without a
     * stage prefix the rank must hold exactly one stage; the peer of a send or receive follows from
     * the placement.
     */
    public static Action parse(String text, int rank, Placement placement) {
        Matcher m = TEXT.matcher(text.trim());
        if (!m.matches()) {
            throw new ScheduleException("cannot read action '" + text
                    + "' on rank " + rank + ": expected e.g. F3, I3, W[4-7], B3, 5F3, SEND_F3 or STEP");
        }
        ActionKind kind = ActionKind.ofSymbol(m.group(2));
        if (kind == ActionKind.STEP) {
            if (m.group(1) != null || !m.group(3).isBlank()) {
                throw new ScheduleException("STEP on rank " + rank + " takes no stage or micro-batch: '" + text + "'");
            }
            return step();
        }
        int stage;
        if (m.group(1) != null) {
            stage = Integer.parseInt(m.group(1));
        } else if (placement.stagesOf(rank).size() == 1) {
            stage = placement.stagesOf(rank).get(0);
        } else {
            throw new ScheduleException("action '" + text + "' on rank " + rank + " needs a stage prefix (e.g. "
                    + placement.stagesOf(rank).get(0) + text.trim() + ") because rank " + rank
                    + " holds stages " + placement.stagesOf(rank));
        }
        MicroBatches mbs = MicroBatches.parse(m.group(3));
        int peer = kind.isCommunication() ? placement.peerOf(kind, stage) : -1;
        return new Action(kind, stage, mbs, peer);
    }
}
