package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.twobp.worker.schedule.gen.ScheduleFamily;

/** Mutated schedules are rejected, and the error points at the cell. */
class ValidatorTest {
    private static Schedule oneFOneBWithTwoBp() {
        return ScheduleFamily.ONE_F_ONE_B_1.build(4, 4, true, 1, 0);
    }

    private static int indexOf(List<Action> list, Action action) {
        int i = list.indexOf(action);
        assertTrue(i >= 0, "no " + action + " in " + list);
        return i;
    }

    /** The row of the grid for this rank, and the caret line under it when it is marked. */
    private static String gridRow(String message, int rank) {
        for (String line : message.split("\n")) {
            if (line.startsWith("rank " + rank + " ")) {
                return line;
            }
        }
        return "";
    }

    @Test
    void generatedSchedulesAreValid() {
        assertTrue(ScheduleValidator.problems(oneFOneBWithTwoBp()).isEmpty());
    }

    @Test
    void droppedReceiveIsRejectedAtTheConsumer() {
        Schedule s = oneFOneBWithTwoBp();
        List<List<Action>> lists = s.copyActions();
        Action receive = Action.communication(ActionKind.RECV_F, 2, 3, 1);
        int at = indexOf(lists.get(2), receive);
        lists.get(2).remove(at);
        int consumer = indexOf(lists.get(2), Action.forward(2, 3));
        ScheduleException e = assertThrows(ScheduleException.class,
                () -> ScheduleValidator.validate(s.withActions(lists)));
        String m = e.getMessage();
        assertTrue(m.contains("rank 2, slot " + consumer + ", action F3"), m);
        assertTrue(m.contains("no RECV_F3 is posted before it"), m);
        assertTrue(gridRow(m, 2).contains("[F3"), "the grid marks the cell:\n" + m);
        assertTrue(gridRow(m, 2).contains("<-- rank 2, slot " + consumer), m);
        assertTrue(m.contains("^^^"), m);
        // The orphaned send is reported too.
        assertTrue(m.contains("SEND_F3: nobody receives it"), m);
    }

    @Test
    void swappedForwardAndP1AreRejected() {
        Schedule s = oneFOneBWithTwoBp();
        List<List<Action>> lists = s.copyActions();
        List<Action> rank3 = lists.get(3);
        int f = indexOf(rank3, Action.forward(3, 1));
        int i = indexOf(rank3, Action.backwardInput(3, 1));
        rank3.set(f, Action.backwardInput(3, 1));
        rank3.set(i, Action.forward(3, 1));
        ScheduleException e = assertThrows(ScheduleException.class,
                () -> ScheduleValidator.validate(s.withActions(lists)));
        String m = e.getMessage();
        assertTrue(m.contains("rank 3, slot " + f + ", action I1: p1 of micro-batch 1 on stage 3 runs before its "
                + "forward F1"), m);
        assertTrue(gridRow(m, 3).contains("[I1"), m);
    }

    @Test
    void missingP2IsRejectedAtItsP1() {
        Schedule s = oneFOneBWithTwoBp();
        List<List<Action>> lists = s.copyActions();
        int w = indexOf(lists.get(0), Action.backwardWeight(0, 2));
        lists.get(0).remove(w);
        int p1 = indexOf(lists.get(0), Action.backwardInput(0, 2));
        ScheduleException e = assertThrows(ScheduleException.class,
                () -> ScheduleValidator.validate(s.withActions(lists)));
        String m = e.getMessage();
        assertTrue(m.contains("rank 0, slot " + p1 + ", action I2: p1 of micro-batch 2 on stage 0 has no p2"), m);
        assertTrue(gridRow(m, 0).contains("[I2"), m);
    }

    @Test
    void crossRankDeadlockIsFound() {
        // Rank 0 waits for the gradient of micro-batch 0 before forwarding micro-batch 1, while
        // rank 1 wants micro-batch 1's activation before it backwards micro-batch 0.
        Placement two = Placement.oneStagePerRank(2);
        Schedule s = new Schedule("crossed", two, 2, List.of(
                List.of(Action.forward(0, 0), Action.fusedBackward(0, 0), Action.forward(0, 1),
                        Action.fusedBackward(0, 1)),
                List.of(Action.forward(1, 0), Action.forward(1, 1), Action.fusedBackward(1, 0),
                        Action.fusedBackward(1, 1))));
        List<ScheduleProblem> problems = ScheduleValidator.problems(s);
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).describe().contains("rank 0, slot 1, action B0: deadlock"), problems.toString());
        assertTrue(problems.get(1).describe().contains("rank 1, slot 1, action F1: deadlock"), problems.toString());
        ScheduleException e = assertThrows(ScheduleException.class, () -> ScheduleValidator.validate(s));
        assertTrue(e.getMessage().contains("[B0"), e.getMessage());
    }

    @Test
    void otherMistakesAreNamed() {
        Placement two = Placement.oneStagePerRank(2);
        Schedule wrongRank = new Schedule("x", two, 1, List.of(
                List.of(Action.forward(1, 0)), List.of(Action.forward(0, 0))));
        assertTrue(ScheduleValidator.problems(wrongRank).get(0).message().contains("placed on rank 1"));

        Schedule twice = new Schedule("x", Placement.oneStagePerRank(1), 1, List.of(
                List.of(Action.forward(0, 0), Action.forward(0, 0), Action.fusedBackward(0, 0))));
        assertTrue(ScheduleValidator.problems(twice).get(0).message().contains("forwarded twice"));

        Schedule p2AfterFused = new Schedule("x", Placement.oneStagePerRank(1), 1, List.of(
                List.of(Action.forward(0, 0), Action.fusedBackward(0, 0), Action.backwardWeight(0, 0))));
        assertTrue(ScheduleValidator.problems(p2AfterFused).get(0).message().contains("already computed"));

        Schedule lowered = ScheduleFamily.GPIPE.build(2, 2, true, 1, 0);
        List<List<Action>> lists = lowered.copyActions();
        Action step = lists.get(1).remove(lists.get(1).size() - 1);
        lists.get(1).add(0, step);
        List<ScheduleProblem> found = ScheduleValidator.problems(lowered.withActions(lists));
        assertTrue(found.get(0).message().contains("after the optimizer step"), found.toString());

        Schedule beyond = new Schedule("x", Placement.oneStagePerRank(1), 1, List.of(
                List.of(Action.forward(0, 0), Action.forward(0, 1), Action.fusedBackward(0, 0))));
        assertTrue(ScheduleValidator.problems(beyond).get(0).message().contains("does not exist"));
        assertFalse(ScheduleValidator.problems(ScheduleFamily.ZB_V.build(3, 6, true, 1, 0)).iterator().hasNext());
    }
}
