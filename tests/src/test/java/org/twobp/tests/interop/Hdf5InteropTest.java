package org.twobp.tests.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.checkpoints.CheckpointReader;
import org.twobp.checkpoints.RunLogReader;
import org.twobp.checkpoints.RunLogStep;
import org.twobp.tests.MpiRun;

/**
 * A real run's logs and checkpoints open in HDF5's own tools: h5dump (hdf5-tools) and h5py
 * (python3-h5py), both installed by the test set-up; the values they read are the ones the run
 * wrote. Fails, never skips, when a tool is missing.
 */
class Hdf5InteropTest {

    @TempDir
    static Path dir;
    static Path run;

    @BeforeAll
    static void train() {
        run = dir.resolve("run");
        String config = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();
        MpiRun.Result r = MpiRun.run(2, 120, "org.twobp.worker.pipeline.WorkerMain", "--config", config, "--steps", "3",
                "--run-dir", run.toString());
        assertEquals(0, r.exitCode(), r.output());
    }

    static String exec(String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            throw new AssertionError(cmd[0] + " is not installed: make test installs hdf5-tools and python3-h5py"
                    + " (setup/setup.sh --for-tests)", e);
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + out);
        return out;
    }

    static Path first(Path folder, String suffix) throws Exception {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().findFirst().orElseThrow();
        }
    }

    @Test
    void h5dumpReadsLogsAndCheckpoints() throws Exception {
        Path segment = first(run.resolve("logs/rank-0001"), ".h5");
        String header = exec("h5dump", "-H", segment.toString());
        assertTrue(header.contains("DATASET \"loss\"") && header.contains("DATASET \"start_ns\""), header);
        assertTrue(exec("h5dump", "-a", "format", segment.toString()).contains("\"twobp-runlog\""));
        Path stage = first(run.resolve("checkpoints/step-3"), ".h5");
        String ck = exec("h5dump", "-H", stage.toString());
        assertTrue(ck.contains("GROUP \"tensors\"") && ck.contains("GROUP \"state\""), ck);
        assertTrue(exec("h5dump", "-a", "format", stage.toString()).contains("\"twobp-checkpoint\""));
    }

    @Test
    void h5pyReadsTheValuesTheRunWrote() throws Exception {
        List<RunLogStep> steps = RunLogReader.read(run.resolve("logs"), 1);
        double loss = steps.get(2).metrics().get("loss");
        Path segment = first(run.resolve("logs/rank-0001"), ".h5");
        String py = String.format(Locale.ROOT, """
                import h5py, numpy
                f = h5py.File(%s, "r")
                assert f.attrs["format"] in (b"twobp-runlog", "twobp-runlog"), f.attrs["format"]
                print("loss %%.9g" %% f["steps/loss"][2])
                print("actions", len(f["actions/kind"]))
                c = h5py.File(%s, "r")
                name = sorted(c["tensors"].keys())[0]
                v = c["tensors/" + name + "/value"][()]
                print("tensor", name, v.shape, "%%.9g" %% float(v.ravel()[0]))
                """, pyString(segment), pyString(first(run.resolve("checkpoints/step-3"), ".h5")));
        String out = exec("/usr/bin/python3", "-c", py);
        assertTrue(out.contains(String.format(Locale.ROOT, "loss %.9g", loss)), out + " (Java read " + loss + ")");
        assertTrue(out.lines().anyMatch(l -> l.startsWith("actions ") && Integer.parseInt(l.substring(8).strip()) > 0), out);
        String tensorLine = out.lines().filter(l -> l.startsWith("tensor ")).findFirst().orElseThrow();
        String name = tensorLine.split(" ")[1];
        CheckpointReader ck = CheckpointReader.open(run.resolve("checkpoints/step-3"));
        float first = ck.read(name).value().get(0);
        assertTrue(tensorLine.endsWith(String.format(Locale.ROOT, "%.9g", (double) first)), tensorLine + " vs " + first);
    }

    static String pyString(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
