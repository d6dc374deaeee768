package org.twobp.tests.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.checkpoints.RunLogReader;
import org.twobp.checkpoints.RunLogStep;
import org.twobp.tests.MpiRun;
import org.twobp.worker.analysis.Analyze;

/**
 * Two real runs under mpirun (without 2BP on 2 ranks, with 2BP on 3) write per-rank HDF5 logs;
 * the logs hold every step's metrics and measured timeline, the middle rank's too, and `analyze`
 * summarises, compares and draws them.
 */
class RunLogAnalyzeTest {

    private static final String CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();

    @Test
    void runsLogEveryStepAndAnalyzeComparesThem(@TempDir Path dir) throws Exception {
        Path fused = dir.resolve("fused");
        Path split = dir.resolve("split");
        for (Path run : List.of(fused, split)) {
            MpiRun.Result r = MpiRun.run(run == split ? 3 : 2, 120, "org.twobp.worker.pipeline.WorkerMain", "--config",
                    CONFIG, "--steps", "8", "--run-dir", run.toString(), run == split ? "--2bp" : "--no-2bp");
            assertEquals(0, r.exitCode(), r.output());
        }
        assertEquals(List.of(0, 1), RunLogReader.ranks(fused.resolve("logs")));
        assertEquals(List.of(0, 1, 2), RunLogReader.ranks(split.resolve("logs")));
        for (int rank = 0; rank < 3; rank++) {
            List<RunLogStep> steps = RunLogReader.read(split.resolve("logs"), rank);
            assertEquals(8, steps.size(), "every step of rank " + rank + " is logged");
            RunLogStep s = steps.get(3);
            assertTrue(s.metrics().get("loss") > 0 && s.metrics().get("tokens_per_s") > 0
                    && s.metrics().containsKey("rank_bubble") && s.metrics().containsKey("mem_peak_stash"), s.metrics().toString());
            // 1F1B-1 with 3 ranks: 3 forwards, 3 p1 and p2 work on every rank
            assertTrue(s.actions().stream().filter(a -> a.kind().equals("F")).count() == 3, s.actions().toString());
            assertTrue(s.actions().stream().anyMatch(a -> a.kind().equals("W")), s.actions().toString());
            assertTrue(s.actions().stream().allMatch(a -> a.endNanos() >= a.startNanos() + a.waitNanos()));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Path charts = dir.resolve("charts");
        int code = Analyze.run(new String[] {fused.toString(), split.toString(), "--png", charts.toString(), "--csv",
                charts.resolve("all.csv").toString()}, new PrintStream(out, true), new PrintStream(err, true));
        String text = out.toString();
        System.out.print(text);
        assertEquals(0, code, err.toString());
        assertTrue(text.contains("speed-up") && text.contains("peak memory") && text.contains("tokens/s   median"), text);
        for (String png : List.of("loss.png", "throughput.png", "memory-split.png", "timeline-split-step-")) {
            try (var files = Files.list(charts)) {
                Path p = files.filter(f -> f.getFileName().toString().startsWith(png.replace(".png", ""))).findFirst()
                        .orElseThrow(() -> new AssertionError("no chart " + png + " in " + charts));
                assertNotNull(ImageIO.read(p.toFile()), p + " is a readable PNG");
            }
        }
        assertEquals(1 + (2 + 3) * 8, Files.readAllLines(charts.resolve("all.csv")).size(),
                "header + (2 + 3 ranks) x 8 steps");

        assertEquals(2, Analyze.run(new String[] {"--bogus"}, new PrintStream(out), new PrintStream(err)));
        assertEquals(2, Analyze.run(new String[] {dir.resolve("nothing").toString()}, new PrintStream(out), new PrintStream(err)));
    }
}
