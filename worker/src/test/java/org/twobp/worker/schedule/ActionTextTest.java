package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ActionTextTest {
    private final Placement one = Placement.oneStagePerRank(4);
    private final Placement v = Placement.vShape(2, 2);

    @Test
    void compactTextForms() {
        assertEquals("F3", Action.forward(1, 3).text(false));
        assertEquals("I3", Action.backwardInput(1, 3).text(false));
        assertEquals("W[4-7]", Action.backwardWeight(1, MicroBatches.range(4, 7)).text(false));
        assertEquals("W[1,3,5-6]", Action.backwardWeight(1, MicroBatches.of(6, 1, 5, 3)).text(false));
        assertEquals("B3", Action.fusedBackward(1, 3).text(false));
        assertEquals("2SEND_B3", Action.communication(ActionKind.SEND_B, 2, 3, 1).text(true));
        assertEquals("STEP", Action.step().text(true));
    }

    @Test
    void parseIsTheInverseOfText() {
        for (String text : new String[] {"F3", "I0", "W[4-7]", "W[1,3]", "B2", "SEND_F1", "RECV_B0", "STEP"}) {
            assertEquals(text, Action.parse(text, 1, one).text(false));
        }
        Action send = Action.parse("SEND_F1", 1, one);
        assertEquals(2, send.peer());
        assertEquals(Action.parse("W[3]", 0, one), Action.parse("W3", 0, one));
        Action up = Action.parse("2F0", 1, v);
        assertEquals(2, up.stage());
        assertEquals("RECV_F", Action.parse("3RECV_F0", 0, v).kind().symbol());
        assertEquals(1, Action.parse("3RECV_F0", 0, v).peer());
    }

    @Test
    void badTextIsExplained() {
        assertThrows(ScheduleException.class, () -> Action.parse("X3", 0, one));
        assertThrows(ScheduleException.class, () -> Action.parse("F", 0, one));
        assertThrows(ScheduleException.class, () -> Action.parse("W[7-4]", 0, one));
        assertThrows(ScheduleException.class, () -> Action.parse("F1", 0, v));
        assertThrows(ScheduleException.class, () -> Action.forward(0, 1).messageKey());
    }

    @Test
    void sendAndReceiveShareAMessageKeyAndTag() {
        Action send = Action.communication(ActionKind.SEND_F, 1, 5, 2);
        Action receive = Action.communication(ActionKind.RECV_F, 2, 5, 1);
        assertEquals(send.messageKey(), receive.messageKey());
        assertEquals(send.messageKey().tag(4, 8), receive.messageKey().tag(4, 8));
        Action gradient = Action.communication(ActionKind.SEND_B, 2, 5, 1);
        Action gradientIn = Action.communication(ActionKind.RECV_B, 1, 5, 2);
        assertEquals(gradient.messageKey(), gradientIn.messageKey());
        assertNotEquals(send.messageKey().tag(4, 8), gradient.messageKey().tag(4, 8));
    }
}
