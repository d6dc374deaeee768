package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulateMainTest {
    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = SimulateMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpAndUsageErrors() {
        Run help = run("--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--schedule NAME"), help.out());
        for (String[] bad : new String[][] {{"--bogus"}, {"--stages"}, {"--stages", "two"},
                {"--schedule", "nope"}, {"--costs", "f=x"}, {"--stages", "0"}}) {
            Run r = run(bad);
            assertEquals(2, r.status(), String.join(" ", bad) + ": " + r.err());
            assertTrue(r.err().startsWith("twobp simulate: "), r.err());
        }
    }

    @Test
    void simulatesOneScheduleAndWritesCsvAndPng(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("s.csv");
        Path png = dir.resolve("s.png");
        Run r = run("--schedule", "1f1b-1", "--2bp", "--stages", "4", "--microbatches", "8",
                "--costs", "f=1,i=1,w=1", "--csv", csv.toString(), "--png", png.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("1F1B-2 + 2BP"), r.out());
        assertTrue(r.out().contains("makespan 27"), r.out());
        assertTrue(r.out().contains("2BP speed-up: 33 -> 27 = 1.22x"), r.out());
        assertTrue(Files.size(png) > 1000);
        Run loaded = run("--load", csv.toString(), "--2bp");
        assertEquals(0, loaded.status(), loaded.err());
        assertTrue(loaded.out().contains("makespan 27"), loaded.out());
    }

    @Test
    void compareReproducesThePaperTable() {
        Run r = run("--compare", "--stages", "4");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().matches("(?s).*Naive +1 +12 -> 9 +1.33x.*"), r.out());
        assertTrue(r.out().matches("(?s).*GPipe +4 +21 -> 18 +1.17x.*"), r.out());
        assertTrue(r.out().matches("(?s).*1F1B-1 +4 +21 -> 15 +1.40x.*"), r.out());
        assertTrue(r.out().matches("(?s).*1F1B-2 +8 +33 -> 27 +1.22x.*"), r.out());
        assertTrue(r.out().contains("ZB-V"), r.out());
        assertTrue(r.out().contains("Auto"), r.out());
    }

    @Test
    void invalidFileExitsOne(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "F0,I0\n,F0,I0,W0\n");
        Run r = run("--load", bad.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("has no p2"), r.err());
        assertTrue(r.err().contains("[I0"), r.err());
    }

    @Test
    void autoAndCapSweep() {
        Run auto = run("--schedule", "auto", "--2bp", "--stages", "2", "--costs", "f=1,i=1,w=0.25");
        assertEquals(0, auto.status(), auto.err());
        assertTrue(auto.out().contains("auto chose: "), auto.out());
        Run sweep = run("--sweep-cap", "--stages", "2", "--concat", "overhead=0.5");
        assertEquals(0, sweep.status(), sweep.err());
        assertTrue(sweep.out().lines().count() >= 6, sweep.out());
    }
}
