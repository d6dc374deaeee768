package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Which rank holds which (virtual) stage. The model is cut into {@code stages} pieces in order;
 * with V chunks per rank there are P * V stages. Two standard layouts:
 * <ul>
 * <li>loop: stage s on rank s mod P (1F1B, interleaved 1F1B);</li>
 * <li>V: chunk c runs down the ranks when c is even and back up when it is odd, so rank 0 holds
 * the first and the last stage (ZB-V) and the turn at the bottom needs no message.</li>
 * </ul>
 */
public final class Placement {
    private final int ranks;
    private final int[] rankOfStage;
    private final List<List<Integer>> stagesOfRank;

    private Placement(int ranks, int[] rankOfStage) {
        if (ranks < 1) {
            throw new ScheduleException("a pipeline needs at least one rank, got " + ranks);
        }
        this.ranks = ranks;
        this.rankOfStage = rankOfStage.clone();
        List<List<Integer>> byRank = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            byRank.add(new ArrayList<>());
        }
        for (int s = 0; s < rankOfStage.length; s++) {
            int r = rankOfStage[s];
            if (r < 0 || r >= ranks) {
                throw new ScheduleException("stage " + s + " is placed on rank " + r + ", outside 0.." + (ranks - 1));
            }
            byRank.get(r).add(s);
        }
        for (int r = 0; r < ranks; r++) {
            if (byRank.get(r).isEmpty()) {
                throw new ScheduleException("rank " + r + " holds no stage; every rank needs at least one");
            }
            byRank.set(r, Collections.unmodifiableList(byRank.get(r)));
        }
        this.stagesOfRank = Collections.unmodifiableList(byRank);
    }

    /** One stage per rank, stage r on rank r. */
    public static Placement oneStagePerRank(int ranks) {
        return loop(ranks, 1);
    }

    /** Stage s on rank s mod P, V chunks per rank. */
    public static Placement loop(int ranks, int chunks) {
        requireChunks(chunks);
        int[] map = new int[ranks * chunks];
        for (int s = 0; s < map.length; s++) {
            map[s] = s % ranks;
        }
        return new Placement(ranks, map);
    }

    /** Even chunks run down the ranks, odd chunks back up: rank 0 holds stages 0 and 2P-1. */
    public static Placement vShape(int ranks, int chunks) {
        requireChunks(chunks);
        int[] map = new int[ranks * chunks];
        for (int s = 0; s < map.length; s++) {
            int chunk = s / ranks;
            int j = s % ranks;
            map[s] = chunk % 2 == 0 ? j : ranks - 1 - j;
        }
        return new Placement(ranks, map);
    }

    /** Any layout, e.g. one read from a CSV file. */
    public static Placement explicit(int ranks, int[] rankOfStage) {
        return new Placement(ranks, rankOfStage);
    }

    private static void requireChunks(int chunks) {
        if (chunks < 1) {
            throw new ScheduleException("chunks per rank must be at least 1, got " + chunks);
        }
    }

    public int ranks() {
        return ranks;
    }

    public int stages() {
        return rankOfStage.length;
    }

    public int rankOf(int stage) {
        if (stage < 0 || stage >= rankOfStage.length) {
            throw new ScheduleException("stage " + stage + " does not exist; the pipeline has stages 0.."
                    + (rankOfStage.length - 1));
        }
        return rankOfStage[stage];
    }

    /** The stages of a rank, in model order. */
    public List<Integer> stagesOf(int rank) {
        return stagesOfRank.get(rank);
    }

    /** Chunks per rank when every rank holds the same number of stages, else the largest count. */
    public int chunksPerRank() {
        return stagesOfRank.stream().mapToInt(List::size).max().orElse(1);
    }

    /** True when stage and stage+1 (or stage-1) live on different ranks and so need a message. */
    public boolean crossesRanks(int fromStage, int toStage) {
        return rankOf(fromStage) != rankOf(toStage);
    }

    /** The rank a send or receive of this stage talks to. */
    public int peerOf(ActionKind kind, int stage) {
        int other = switch (kind) {
            case SEND_F, RECV_B -> stage + 1;
            case RECV_F, SEND_B -> stage - 1;
            default -> throw new ScheduleException(kind.symbol() + " has no peer");
        };
        if (other < 0 || other >= stages()) {
            throw new ScheduleException(kind.symbol() + " on stage " + stage + " has no neighbour stage "
                    + other + " to talk to");
        }
        return rankOf(other);
    }

    /** "loop", "v" or the explicit rank list, as written in CSV headers. */
    public String describe() {
        int chunks = stages() / ranks;
        if (chunks * ranks == stages()) {
            if (equals(loop(ranks, chunks))) {
                return "loop";
            }
            if (equals(vShape(ranks, chunks))) {
                return "v";
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int s = 0; s < rankOfStage.length; s++) {
            sb.append(s == 0 ? "" : ":").append(rankOfStage[s]);
        }
        return sb.toString();
    }

    /** Reads what {@link #describe()} wrote. */
    public static Placement parse(String text, int ranks, int stages) {
        String t = text.trim();
        if (t.equals("loop") || t.equals("v")) {
            if (stages % ranks != 0) {
                throw new ScheduleException("placement '" + t + "' needs stages (" + stages
                        + ") to be a multiple of ranks (" + ranks + ")");
            }
            return t.equals("loop") ? loop(ranks, stages / ranks) : vShape(ranks, stages / ranks);
        }
        String[] parts = t.split(":");
        int[] map = new int[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                map[i] = Integer.parseInt(parts[i].trim());
            }
        } catch (NumberFormatException e) {
            throw new ScheduleException("placement '" + text
                    + "' is not 'loop', 'v' or a colon-separated rank per stage such as 0:1:1:0");
        }
        return explicit(ranks, map);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Placement p && p.ranks == ranks && Arrays.equals(p.rankOfStage, rankOfStage);
    }

    @Override
    public int hashCode() {
        return 31 * ranks + Arrays.hashCode(rankOfStage);
    }

    @Override
    public String toString() {
        return describe() + " (" + ranks + " ranks, " + stages() + " stages)";
    }
}
