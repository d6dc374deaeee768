package org.twobp.tests.launcher;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C on {@code twobp train} signals the launcher and mpirun at once: the launcher asks the
 * ranks to checkpoint (STOP file), they do and exit 0, and mpirun exits 1 because it got the
 * signal itself. The launcher reports a stop with the committed step, not a failed run. (SIGTERM
 * to both stands in for the terminal's SIGINT, which a test cannot deliver to a foreground group.)
 */
class TrainStopTest {

    private static final String TWOBP = Path.of("..", "bin", "twobp").toAbsolutePath().normalize().toString();
    private static final String CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize().toString();

    @Test
    void aStopThatMpirunAlsoGotIsReportedAsAStopWithTheCommittedStep(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        Path log = dir.resolve("train.log");
        List<String> cmd = new ArrayList<>(List.of(TWOBP, "train", "--config", CONFIG, "--nproc", "2", "--run-dir",
                run.toString(), "--set", "train.steps=100000", "--set", "train.threads=1", "--set", "train.log_every=1000",
                "--set", "checkpoint.every=20"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        if ("root".equals(System.getProperty("user.name"))) {
            pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
            pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        }
        Process launcher = pb.start();
        try {
            long deadline = System.nanoTime() + 90_000_000_000L;
            while (!Files.exists(run.resolve("checkpoints").resolve("step-20").resolve("manifest.txt"))
                    && launcher.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(launcher.isAlive(), "the run ended early:\n" + Files.readString(log));
            List<ProcessHandle> mpirun = launcher.children().toList();
            assertFalse(mpirun.isEmpty(), "no mpirun under the launcher");
            launcher.toHandle().destroy();                  // SIGTERM, as to the launcher and
            mpirun.forEach(ProcessHandle::destroy);         // mpirun alike
            assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "the launcher did not stop:\n" + Files.readString(log));
        } finally {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
        }
        String text = Files.readString(log, StandardCharsets.UTF_8);
        System.out.print(text);
        assertTrue(text.contains("[twobp] the launcher is stopping"), text);
        assertTrue(text.matches("(?s).*\\[twobp] stopped on request \\(mpirun exit code \\d+ after the signal\\);"
                + " checkpoint step \\d+ of 100000 committed; continue with  twobp resume " + java.util.regex.Pattern.quote(
                        run.toString()) + ".*"), text);
        assertFalse(text.contains("the run failed"), text);
    }
}
