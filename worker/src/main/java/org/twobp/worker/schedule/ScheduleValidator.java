package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a schedule before anything runs it:
 * <ul>
 * <li>every action sits on the rank that holds its stage, with micro-batches in range;</li>
 * <li>on every stage every micro-batch is forwarded once and backwarded once, either by a fused B
 * or by one p1 (I) and one p2 (W, possibly concatenated), in the order F, then I, then W;</li>
 * <li>in a lowered schedule: every cross-rank input has a receive posted before its consumer,
 * every send follows its producer and has exactly one matching receive on the right peer, and
 * each rank ends with one STEP after its last p2;</li>
 * <li>the ranks' lists together cannot deadlock (F on s after F on s-1 and I on s after I on
 * s+1 are checked here, by running the schedule).</li>
 * </ul>
 * Errors name rank, slot and action and print the grid with that cell marked.
 */
public final class ScheduleValidator {
    private final Schedule schedule;
    private final Placement placement;
    private final List<ScheduleProblem> problems = new ArrayList<>();

    private ScheduleValidator(Schedule schedule) {
        this.schedule = schedule;
        this.placement = schedule.placement();
    }

    /** Returns the schedule if it is valid; otherwise throws with the first problem and the grid. */
    public static Schedule validate(Schedule schedule) {
        List<ScheduleProblem> found = problems(schedule);
        if (!found.isEmpty()) {
            throw new ScheduleException(report(schedule, found));
        }
        return schedule;
    }

    /** All problems found; empty when the schedule is valid. */
    public static List<ScheduleProblem> problems(Schedule schedule) {
        ScheduleValidator v = new ScheduleValidator(schedule);
        v.checkEveryRank();
        if (v.problems.isEmpty()) {
            v.checkDeadlock();
        }
        return List.copyOf(v.problems);
    }

    /** The error text: first problem, how many more, then the grid with the first problem marked. */
    public static String report(Schedule schedule, List<ScheduleProblem> found) {
        ScheduleProblem first = found.get(0);
        StringBuilder sb = new StringBuilder();
        sb.append("schedule '").append(schedule.name()).append("' is invalid: ").append(first.describe());
        for (int i = 1; i < Math.min(found.size(), 4); i++) {
            sb.append("\n  also ").append(found.get(i).describe());
        }
        if (found.size() > 4) {
            sb.append("\n  and ").append(found.size() - 4).append(" more problem(s)");
        }
        sb.append("\nFix the action list of rank ").append(first.rank())
                .append(" (marked below) and validate again.\n");
        sb.append(ScheduleGrid.render(schedule, first.rank(), first.slot(),
                "rank " + first.rank() + ", slot " + first.slot() + ": " + first.action()));
        return sb.toString();
    }

    private void problem(int rank, int slot, String action, String message) {
        problems.add(new ScheduleProblem(rank, slot, action, message));
    }

    private void checkEveryRank() {
        int stages = placement.stages();
        int microbatches = schedule.microbatches();
        boolean lowered = schedule.hasCommunication();
        // Where each (stage, micro-batch) was forwarded, p1'd, p2'd or fused-backwarded.
        Map<Long, Integer> forward = new HashMap<>();
        Map<Long, Integer> p1 = new HashMap<>();
        Map<Long, Integer> p2 = new HashMap<>();
        Map<Long, Integer> fused = new HashMap<>();
        Map<MessageKey, int[]> sends = new HashMap<>();
        Map<MessageKey, int[]> receives = new HashMap<>();

        for (int r = 0; r < schedule.ranks(); r++) {
            List<Action> list = schedule.actions(r);
            int step = -1;
            for (int i = 0; i < list.size(); i++) {
                Action a = list.get(i);
                String text = schedule.text(a);
                if (a.kind() == ActionKind.STEP) {
                    if (step >= 0) {
                        problem(r, i, text, "a second optimizer step (the first is at slot " + step + ")");
                    }
                    step = i;
                    continue;
                }
                if (step >= 0) {
                    problem(r, i, text, "runs after the optimizer step at slot " + step
                            + "; STEP must be the rank's last action");
                }
                int s = a.stage();
                if (s >= stages) {
                    problem(r, i, text, "stage " + s + " does not exist; the pipeline has stages 0.." + (stages - 1));
                    continue;
                }
                if (placement.rankOf(s) != r) {
                    problem(r, i, text, "stage " + s + " is placed on rank " + placement.rankOf(s)
                            + ", not on rank " + r);
                    continue;
                }
                if (a.microbatches().last() >= microbatches) {
                    problem(r, i, text, "micro-batch " + a.microbatches().last() + " does not exist; the step has "
                            + microbatches + " (0.." + (microbatches - 1) + ")");
                    continue;
                }
                if (a.kind().isCommunication()) {
                    checkCommunication(r, i, a, text, forward, p1, fused, sends, receives);
                    continue;
                }
                checkCompute(r, i, a, text, forward, p1, p2, fused);
            }
            if (lowered && step < 0) {
                problem(r, list.size(), "STEP", "rank " + r + " never steps the optimizer; end its list with STEP");
            }
        }
        checkCompleteness(forward, p1, p2, fused);
        if (lowered) {
            checkMessages(forward, p1, fused, sends, receives);
        }
    }

    private void checkCompute(int r, int i, Action a, String text, Map<Long, Integer> forward,
            Map<Long, Integer> p1, Map<Long, Integer> p2, Map<Long, Integer> fused) {
        int s = a.stage();
        switch (a.kind()) {
            case F -> {
                Integer earlier = forward.putIfAbsent(key(s, a.microbatch()), i);
                if (earlier != null) {
                    problem(r, i, text, "micro-batch " + a.microbatch() + " is forwarded twice on stage " + s
                            + " (also at slot " + earlier + ")");
                }
            }
            case I, B -> {
                long k = key(s, a.microbatch());
                String what = a.kind() == ActionKind.I ? "p1" : "fused backward";
                if (!forward.containsKey(k)) {
                    problem(r, i, text, what + " of micro-batch " + a.microbatch() + " on stage " + s
                            + " runs before its forward F" + a.microbatch());
                }
                Integer earlier = p1.containsKey(k) ? p1.get(k) : fused.get(k);
                if (earlier != null) {
                    problem(r, i, text, "micro-batch " + a.microbatch() + " is backwarded twice on stage " + s
                            + " (also at slot " + earlier + ")");
                }
                (a.kind() == ActionKind.I ? p1 : fused).putIfAbsent(k, i);
            }
            case W -> {
                for (int mb : a.microbatches().toArray()) {
                    long k = key(s, mb);
                    if (fused.containsKey(k)) {
                        problem(r, i, text, "p2 of micro-batch " + mb + " on stage " + s
                                + " after the fused backward B" + mb + " at slot " + fused.get(k)
                                + " already computed its weight gradients");
                    } else if (!p1.containsKey(k)) {
                        problem(r, i, text, "p2 of micro-batch " + mb + " on stage " + s
                                + " runs before its p1 I" + mb);
                    }
                    Integer earlier = p2.putIfAbsent(k, i);
                    if (earlier != null) {
                        problem(r, i, text, "p2 of micro-batch " + mb + " on stage " + s + " runs twice (also at slot "
                                + earlier + ")");
                    }
                }
            }
            default -> throw new IllegalStateException("not a compute action: " + a);
        }
    }

    private void checkCommunication(int r, int i, Action a, String text, Map<Long, Integer> forward,
            Map<Long, Integer> p1, Map<Long, Integer> fused, Map<MessageKey, int[]> sends,
            Map<MessageKey, int[]> receives) {
        int s = a.stage();
        int other = a.kind() == ActionKind.SEND_F || a.kind() == ActionKind.RECV_B ? s + 1 : s - 1;
        if (other < 0 || other >= placement.stages()) {
            problem(r, i, text, "stage " + s + " has no neighbour stage " + other + " to talk to");
            return;
        }
        int peer = placement.rankOf(other);
        if (peer == r) {
            problem(r, i, text, "stages " + s + " and " + other + " are both on rank " + r
                    + "; they hand data over locally, without a message");
            return;
        }
        if (a.peer() != peer) {
            problem(r, i, text, "talks to rank " + a.peer() + " but stage " + other + " is on rank " + peer);
            return;
        }
        Map<MessageKey, int[]> seen = a.kind().isSend() ? sends : receives;
        int[] earlier = seen.putIfAbsent(a.messageKey(), new int[] {r, i});
        if (earlier != null) {
            problem(r, i, text, "the same message is " + (a.kind().isSend() ? "sent" : "received")
                    + " twice (also at slot " + earlier[1] + ")");
        }
        long k = key(s, a.microbatch());
        if (a.kind() == ActionKind.SEND_F && !forward.containsKey(k)) {
            problem(r, i, text, "sends the activation of micro-batch " + a.microbatch()
                    + " before its forward F" + a.microbatch() + " has run on stage " + s);
        }
        if (a.kind() == ActionKind.SEND_B && !p1.containsKey(k) && !fused.containsKey(k)) {
            problem(r, i, text, "sends the input-gradient of micro-batch " + a.microbatch()
                    + " before its p1 (I or B) has run on stage " + s);
        }
    }

    private void checkCompleteness(Map<Long, Integer> forward, Map<Long, Integer> p1, Map<Long, Integer> p2,
            Map<Long, Integer> fused) {
        for (int s = 0; s < placement.stages(); s++) {
            int r = placement.rankOf(s);
            int end = schedule.actions(r).size();
            for (int mb = 0; mb < schedule.microbatches(); mb++) {
                long k = key(s, mb);
                if (!forward.containsKey(k)) {
                    problem(r, end, stagePrefix(s) + "F" + mb, "micro-batch " + mb
                            + " is never forwarded on stage " + s);
                } else if (!p1.containsKey(k) && !fused.containsKey(k)) {
                    problem(r, forward.get(k), stagePrefix(s) + "F" + mb, "micro-batch " + mb + " on stage " + s
                            + " is forwarded but never backwarded (no I" + mb + " or B" + mb + ")");
                } else if (p1.containsKey(k) && !p2.containsKey(k)) {
                    problem(r, p1.get(k), stagePrefix(s) + "I" + mb, "p1 of micro-batch " + mb + " on stage " + s
                            + " has no p2: no W covers micro-batch " + mb + ", so its weight gradient is lost");
                }
            }
        }
    }

    /** Every cross-rank input needs a receive before its consumer and a send on the peer. */
    private void checkMessages(Map<Long, Integer> forward, Map<Long, Integer> p1, Map<Long, Integer> fused,
            Map<MessageKey, int[]> sends, Map<MessageKey, int[]> receives) {
        int last = placement.stages() - 1;
        for (int s = 0; s < placement.stages(); s++) {
            int r = placement.rankOf(s);
            for (int mb = 0; mb < schedule.microbatches(); mb++) {
                long k = key(s, mb);
                if (s > 0 && placement.crossesRanks(s - 1, s) && forward.containsKey(k)) {
                    requireReceive(r, forward.get(k), stagePrefix(s) + "F" + mb,
                            new MessageKey(MessageKey.Direction.FORWARD, s - 1, s, mb), "the activation",
                            "RECV_F", receives);
                }
                Integer backward = p1.containsKey(k) ? p1.get(k) : fused.get(k);
                if (s < last && placement.crossesRanks(s + 1, s) && backward != null) {
                    String text = schedule.text(schedule.actions(r).get(backward));
                    requireReceive(r, backward, text, new MessageKey(MessageKey.Direction.BACKWARD, s + 1, s, mb),
                            "the output-gradient", "RECV_B", receives);
                }
            }
        }
        for (Map.Entry<MessageKey, int[]> e : bySlot(sends)) {
            int[] at = e.getValue();
            if (!receives.containsKey(e.getKey())) {
                Action a = schedule.actions(at[0]).get(at[1]);
                problem(at[0], at[1], schedule.text(a), "nobody receives it: rank " + a.peer() + " posts no "
                        + (a.kind() == ActionKind.SEND_F ? "RECV_F" : "RECV_B") + a.microbatch()
                        + " for stage " + e.getKey().toStage());
            }
        }
        for (Map.Entry<MessageKey, int[]> e : bySlot(receives)) {
            int[] at = e.getValue();
            if (!sends.containsKey(e.getKey())) {
                Action a = schedule.actions(at[0]).get(at[1]);
                problem(at[0], at[1], schedule.text(a), "nobody sends it: rank " + a.peer() + " posts no "
                        + (a.kind() == ActionKind.RECV_F ? "SEND_F" : "SEND_B") + a.microbatch()
                        + " from stage " + e.getKey().fromStage());
            }
        }
    }

    /** Map entries in rank, then slot order, so that reports do not depend on hashing. */
    private static List<Map.Entry<MessageKey, int[]>> bySlot(Map<MessageKey, int[]> messages) {
        List<Map.Entry<MessageKey, int[]>> entries = new ArrayList<>(messages.entrySet());
        entries.sort((a, b) -> a.getValue()[0] != b.getValue()[0]
                ? Integer.compare(a.getValue()[0], b.getValue()[0])
                : Integer.compare(a.getValue()[1], b.getValue()[1]));
        return entries;
    }

    private void requireReceive(int rank, int consumerSlot, String consumer, MessageKey message, String what,
            String receive, Map<MessageKey, int[]> receives) {
        int[] at = receives.get(message);
        if (at == null || at[1] > consumerSlot) {
            problem(rank, consumerSlot, consumer, consumer + " needs " + what + " of micro-batch "
                    + message.microbatch() + " from rank " + placement.rankOf(message.fromStage())
                    + ", but no " + receive + message.microbatch() + " is posted before it"
                    + (at == null ? "" : " (it is posted later, at slot " + at[1] + ")"));
        }
    }

    private void checkDeadlock() {
        InOrderExecution.Result run = InOrderExecution.run(schedule, new InOrderExecution.Timing() {
            @Override
            public double duration(int rank, Action action) {
                return ScheduleGrid.idealisedSlots(action);
            }

            @Override
            public double transferTime(MessageKey message) {
                return 0;
            }
        });
        for (InOrderExecution.Stuck s : run.stuck()) {
            problem(s.rank(), s.index(), schedule.text(s.action()), "deadlock: the schedule cannot progress; rank "
                    + s.rank() + " waits here for " + s.waitingFor());
        }
    }

    private String stagePrefix(int stage) {
        return schedule.needsStagePrefix() ? Integer.toString(stage) : "";
    }

    private static long key(int stage, int microbatch) {
        return ((long) stage << 32) | (microbatch & 0xffffffffL);
    }
}
