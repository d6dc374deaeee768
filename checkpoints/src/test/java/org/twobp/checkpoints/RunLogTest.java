package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunLogTest {

    static RunLogStep step(long s) {
        return new RunLogStep(s, Map.of("loss", 5.0 - s * 0.1, "tokens_per_s", 1000.0 + s),
                List.of(new RunLogStep.Action("F", 0, 0, 1, 10, 20, 1), new RunLogStep.Action("W", 0, 0, 4, 30, 90, 0)));
    }

    @Test
    void segmentsRoundTripEveryStepAndAction(@TempDir Path dir) throws Exception {
        try (RunLogWriter w = new RunLogWriter(dir, 3, 4, Map.of("host", "node7"), "[model]\nname = \"x\"\n")) {
            for (long s = 0; s < 10; s++) {
                w.append(step(s));
            }
        }
        try (Stream<Path> files = Files.list(dir.resolve("rank-0003"))) {
            assertEquals(3, files.filter(p -> p.toString().endsWith(".h5")).count(), "4 + 4 + 2 steps");
        }
        List<RunLogStep> read = RunLogReader.read(dir, 3);
        assertEquals(10, read.size());
        for (long s = 0; s < 10; s++) {
            RunLogStep r = read.get((int) s);
            assertEquals(s, r.step());
            assertEquals(step(s).metrics(), r.metrics());
            assertEquals(step(s).actions(), r.actions());
        }
        assertEquals(List.of(3), RunLogReader.ranks(dir));
        assertEquals("node7", RunLogReader.attributes(dir, 3).get("host"));
    }

    @Test
    void aCrashLosesOnlyTheOpenSegmentAndAResumedRunContinuesTheNumbering(@TempDir Path dir) {
        RunLogWriter w = new RunLogWriter(dir, 0, 3, Map.of(), "");
        for (long s = 0; s < 5; s++) {
            w.append(step(s)); // steps 3 and 4 are pending when the process "dies" (no close)
        }
        assertEquals(3, RunLogReader.read(dir, 0).size());
        try (RunLogWriter resumed = new RunLogWriter(dir, 0, 3, Map.of(), "")) {
            for (long s = 3; s < 6; s++) {
                resumed.append(step(s));
            }
        }
        List<RunLogStep> all = RunLogReader.read(dir, 0);
        assertEquals(6, all.size());
        assertEquals(5, all.get(5).step());
        assertTrue(Files.exists(dir.resolve("rank-0000/seg-000001.h5")));
        assertFalse(Files.exists(dir.resolve("rank-0000/seg-000002.h5")));
    }

    @Test
    void aStepWithoutActionsIsReadable(@TempDir Path dir) {
        try (RunLogWriter w = new RunLogWriter(dir, 1, 10, Map.of(), "")) {
            w.append(new RunLogStep(0, Map.of("loss", 1.0), new ArrayList<>()));
        }
        assertEquals(1.0, RunLogReader.read(dir, 1).get(0).metrics().get("loss"));
    }
}
