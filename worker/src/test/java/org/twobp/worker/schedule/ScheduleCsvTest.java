package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.Simulator;

class ScheduleCsvTest {
    private static void assertSameSchedule(Schedule expected, Schedule actual) {
        assertEquals(expected.name(), actual.name());
        assertEquals(expected.placement(), actual.placement());
        assertEquals(expected.microbatches(), actual.microbatches());
        assertEquals(expected.allActions(), actual.allActions());
    }

    @Test
    void roundTripOfEveryFamilyComputeOnlyAndLowered(@TempDir Path dir) {
        for (ScheduleFamily family : ScheduleFamily.values()) {
            for (boolean twoBp : new boolean[] {false, true}) {
                Schedule lowered = family.build(4, 8, twoBp, 2, 3);
                Schedule computeOnly = Lowering.computeOnly(lowered);
                for (Schedule s : List.of(lowered, computeOnly)) {
                    Path file = dir.resolve("schedule.csv");
                    ScheduleCsv.write(s, file);
                    assertSameSchedule(s, ScheduleCsv.read(file));
                }
            }
        }
    }

    @Test
    void concatenatedListsWithCommasSurvive() {
        Schedule s = new Schedule("lists", Placement.oneStagePerRank(1), 3, List.of(List.of(
                Action.forward(0, 0), Action.forward(0, 1), Action.forward(0, 2),
                Action.backwardInput(0, 0), Action.backwardInput(0, 1), Action.backwardInput(0, 2),
                Action.backwardWeight(0, MicroBatches.of(0, 2)), Action.backwardWeight(0, 1))));
        String text = ScheduleCsv.format(s);
        assertTrue(text.contains("\"W[0,2]\""), text);
        assertSameSchedule(s, ScheduleCsv.parse(text, "lists"));
    }

    @Test
    void handWrittenFileWithoutHeaderIsReadAndLowered() {
        String text = """
                # a hand-written 2BP GPipe for 2 ranks; blank cells are bubbles
                F0,F1,,,I0,I1,W[0-1]
                ,F0,F1,I0,I1,W[0-1]
                """;
        Schedule s = ScheduleCsv.parse(text, "hand.csv");
        assertEquals(2, s.ranks());
        assertEquals(2, s.microbatches());
        assertEquals("hand.csv", s.name());
        Schedule lowered = ScheduleValidator.validate(Lowering.lowered(s));
        assertEquals(8, Simulator.idealised().run(lowered).makespan(), 1e-9);
    }

    @Test
    void stagePrefixesGiveThePlacement() {
        Schedule zbv = Lowering.computeOnly(ScheduleFamily.ZB_V.build(2, 4, true, 1, 0));
        String text = ScheduleCsv.format(zbv).lines().filter(l -> !l.startsWith("#"))
                .reduce("", (a, b) -> a + b + "\n");
        Schedule read = ScheduleCsv.parse(text, "zbv.csv");
        assertEquals(zbv.placement(), read.placement());
        assertEquals(zbv.allActions(), read.allActions());
    }

    /** The examples the repository ships, relative to the worker module (where Maven runs its tests). */
    static final Path EXAMPLES = Path.of("..", "configs", "schedules");

    @Test
    void committedExamplesAreValid() throws Exception {
        assertTrue(validateExamples(EXAMPLES) >= 3, "the three committed examples are read");
    }

    /** Without its examples the check above must fail, not pass over nothing. */
    @Test
    void aMissingOrEmptyExamplesFolderFails(@TempDir Path dir) throws Exception {
        AssertionFailedError missing = assertThrows(AssertionFailedError.class,
                () -> validateExamples(dir.resolve("absent")));
        assertTrue(missing.getMessage().contains("no schedule examples folder"), missing.getMessage());
        Files.writeString(dir.resolve("README.txt"), "not a schedule");
        AssertionFailedError empty = assertThrows(AssertionFailedError.class, () -> validateExamples(dir));
        assertTrue(empty.getMessage().contains("no .csv schedule"), empty.getMessage());
    }

    /** Reads, lowers and validates every .csv in {@code dir}; fails when there is none. Returns how many. */
    static int validateExamples(Path dir) throws java.io.IOException {
        Path where = dir.toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(dir), "no schedule examples folder " + where + ": the tests expect the"
                + " repository's configs/schedules there (run them from the worker module, as Maven does)");
        List<Path> csv;
        try (var files = Files.list(dir)) {
            csv = files.filter(f -> f.toString().endsWith(".csv")).sorted().toList();
        }
        assertFalse(csv.isEmpty(), "no .csv schedule in " + where + ": the committed examples are missing");
        for (Path file : csv) {
            ScheduleValidator.validate(Lowering.lowered(ScheduleCsv.read(file)));
        }
        return csv.size();
    }

    @Test
    void badCellsNameTheLine() {
        ScheduleException e = assertThrows(ScheduleException.class,
                () -> ScheduleCsv.parse("F0,I0,W0\nF0,X0\n", "bad.csv"));
        assertTrue(e.getMessage().contains("bad.csv line 2"), e.getMessage());
        assertTrue(e.getMessage().contains("cannot read action 'X0'"), e.getMessage());
        ScheduleException ambiguous = assertThrows(ScheduleException.class, () -> ScheduleCsv.parse(
                "# twobp schedule: ranks=1 stages=2 microbatches=1 placement=loop\nF0\n", "v.csv"));
        assertTrue(ambiguous.getMessage().contains("needs a stage prefix"), ambiguous.getMessage());
    }
}
