package org.twobp.worker.schedule.gen;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.twobp.worker.schedule.Lowering;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;
import org.twobp.worker.schedule.ScheduleValidator;

/**
 * The hand-written schedules by command-line name, each with and without 2BP. Generators write
 * the 2BP (split) form; the no-2BP baseline fuses every p1 with its p2 at the p1's place
 * ({@link Lowering#fuseBackward}), so both forms share one order. For the zero-bubble family the
 * fused form is the 1F1B-like schedule the split one improves on.
 */
public enum ScheduleFamily {
    NAIVE("naive", "Naive"),
    GPIPE("gpipe", "GPipe"),
    ONE_F_ONE_B_1("1f1b-1", "1F1B-1"),
    ONE_F_ONE_B_2("1f1b-2", "1F1B-2"),
    INTERLEAVED("interleaved", "Interleaved 1F1B"),
    CAPPED("1f1b-2-capped", "1F1B-2 capped"),
    ZB_H1("zb-h1", "ZB-H1"),
    ZB_H2("zb-h2", "ZB-H2"),
    ZB_V("zb-v", "ZB-V");

    private final String cliName;
    private final String title;

    ScheduleFamily(String cliName, String title) {
        this.cliName = cliName;
        this.title = title;
    }

    public String cliName() {
        return cliName;
    }

    public String title() {
        return title;
    }

    /** Looks a family up by its command-line name ({@code 1f1b} means {@code 1f1b-1}). */
    public static ScheduleFamily byName(String name) {
        String n = name.toLowerCase(Locale.ROOT).strip();
        if (n.equals("1f1b")) {
            return ONE_F_ONE_B_1;
        }
        for (ScheduleFamily f : values()) {
            if (f.cliName.equals(n)) {
                return f;
            }
        }
        throw new ScheduleException("unknown schedule '" + name + "'; choose one of " + names());
    }

    public static String names() {
        return Arrays.stream(values()).map(ScheduleFamily::cliName).collect(Collectors.joining(", "));
    }

    /**
     * The micro-batch count the paper (or the family's source) fixes: Naive 1, GPipe and 1F1B-1 P,
     * 1F1B-2 and its capped variant 2P; ZB-H2 and ZB-V 2P (they need M >= 2P - 1 to fill);
     * interleaved and ZB-H1 P.
     */
    public int presetMicrobatches(int ranks) {
        return switch (this) {
            case NAIVE -> 1;
            case ONE_F_ONE_B_2, CAPPED, ZB_H2, ZB_V -> 2 * ranks;
            default -> ranks;
        };
    }

    /** Why (ranks, micro-batches, chunks) cannot be built, or null when they can. */
    public String constraint(int ranks, int microbatches, int chunks) {
        if (ranks < 1 || microbatches < 1) {
            return "needs at least one rank and one micro-batch";
        }
        if (this == INTERLEAVED && microbatches % ranks != 0) {
            return "interleaved 1F1B needs micro-batches to be a multiple of ranks";
        }
        if (this == INTERLEAVED && chunks < 1) {
            return "interleaved 1F1B needs at least one chunk per rank";
        }
        return null;
    }

    /** The compute-only 2BP form. {@code chunks} is used by interleaved, {@code stashCap} by the capped one. */
    public Schedule split(int ranks, int microbatches, int chunks, int stashCap) {
        String problem = constraint(ranks, microbatches, chunks);
        if (problem != null) {
            throw new ScheduleException(title + " with " + ranks + " ranks and " + microbatches
                    + " micro-batches: " + problem);
        }
        Schedule s = switch (this) {
            case NAIVE -> Naive.split(ranks, microbatches);
            case GPIPE -> GPipe.split(ranks, microbatches);
            case ONE_F_ONE_B_1, ONE_F_ONE_B_2 -> OneFOneB.split(ranks, microbatches);
            case INTERLEAVED -> Interleaved1F1B.split(ranks, microbatches, chunks);
            case CAPPED -> OneFOneB.split(ranks, microbatches, stashCap);
            case ZB_H1 -> ZeroBubbleH1.split(ranks, microbatches);
            case ZB_H2 -> ZeroBubbleH2.split(ranks, microbatches);
            case ZB_V -> ZeroBubbleV.split(ranks, microbatches);
        };
        return s.renamed(title(ranks, microbatches, chunks, stashCap));
    }

    /** Compute-only form with (2BP) or without (fused backward) the split. */
    public Schedule computeOnly(int ranks, int microbatches, boolean twoBp, int chunks, int stashCap) {
        Schedule split = split(ranks, microbatches, chunks, stashCap);
        return twoBp ? split.renamed(split.name() + " + 2BP")
                : Lowering.fuseBackward(split).renamed(split.name());
    }

    /** The lowered, validated schedule an executor can run. */
    public Schedule build(int ranks, int microbatches, boolean twoBp, int chunks, int stashCap) {
        return ScheduleValidator.validate(Lowering.addCommunication(
                computeOnly(ranks, microbatches, twoBp, chunks, stashCap)));
    }

    /** A name that says what was built: "1F1B-2" only when M = 2P, else "1F1B (M=6)". */
    private String title(int ranks, int microbatches, int chunks, int stashCap) {
        return switch (this) {
            case ONE_F_ONE_B_1, ONE_F_ONE_B_2 -> microbatches == ranks ? "1F1B-1"
                    : microbatches == 2 * ranks ? "1F1B-2" : "1F1B (M=" + microbatches + ")";
            case CAPPED -> (microbatches == 2 * ranks ? "1F1B-2" : "1F1B (M=" + microbatches + ")")
                    + " capped (stash <= " + stashCap + ")";
            case INTERLEAVED -> "Interleaved 1F1B (V=" + chunks + ")";
            default -> title;
        };
    }
}
