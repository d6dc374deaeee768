package org.twobp.tests.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.LocalSlurm;

/**
 * What a user types cannot become a command of the job, on a real Slurm: a partition, an account
 * and a config file name carrying a newline and a command are refused (exit 2, nothing written,
 * nothing queued), and a run folder whose name is hostile but legal (quotes, {@code $(...)},
 * backticks, ';', '#', '%', unicode, spaces) runs to completion with Slurm's working folder and
 * output file exactly there, and none of its commands ever runs.
 */
class SubmitHostileNameTest {

    private static final Path TWOBP = Path.of("..", "bin", "twobp").toAbsolutePath().normalize();
    private static final Path CONFIG = Path.of("..", "configs", "llama-tiny.toml").toAbsolutePath().normalize();

    @BeforeAll
    static void cluster() {
        LocalSlurm.start();
    }

    @AfterAll
    static void stop() {
        LocalSlurm.stopIfStartedHere();
    }

    static List<String> submit(String config, String... more) {
        List<String> cmd = new java.util.ArrayList<>(List.of(TWOBP.toString(), "submit", "--config", config, "--nodes",
                "1", "--gpus-per-node", "0", "--ntasks-per-node", "2", "--time", "00:03:00", "--steps", "3",
                "--set", "train.threads=1"));
        cmd.addAll(List.of(more));
        return cmd;
    }

    static int queued() {
        return (int) LocalSlurm.exec(List.of("squeue", "-h", "-o", "%i"), Map.of(), 30).text().lines()
                .filter(l -> !l.isBlank()).count();
    }

    @Test
    void injectionsAreRefusedAndAHostileButLegalRunFolderRunsAsItIs(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("pwned");
        int before = queued();
        for (List<String> bad : List.of(
                submit(CONFIG.toString(), "--partition", "debug\ntouch " + marker, "--run-dir", dir.resolve("a").toString()),
                submit(CONFIG.toString(), "--account", "x\ntouch " + marker, "--run-dir", dir.resolve("b").toString()),
                submit(CONFIG.toString(), "--run-dir", dir.resolve("c\ntouch " + marker).toString()))) {
            LocalSlurm.Output o = LocalSlurm.exec(bad, Map.of(), 60);
            System.out.print(o.text());
            assertEquals(2, o.exitCode(), o.text());
            assertTrue(o.text().contains("control character (U+000A)"), o.text());
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.toList(), "a refused submit wrote nothing");
        }
        assertEquals(before, queued(), "a refused submit queued nothing");

        // a config file named with a newline and a command: its run gets a safe default name
        Path evilDir = Files.createDirectories(dir.resolve("cwd"));
        Path evil = evilDir.resolve("evil\ncd;touch " + marker.getFileName() + "\n.toml");
        Files.copy(CONFIG, evil);
        List<String> dry = submit(evil.toString(), "--dry-run");
        LocalSlurm.Output d = LocalSlurm.exec(dry, Map.of(), 60);
        assertEquals(0, d.exitCode(), d.text());
        assertTrue(d.text().contains("#SBATCH --job-name=evil_cd_touch_pwned_-"), d.text());
        assertFalse(d.text().contains("\ncd;touch"), d.text());

        // hostile but legal: submitted, run, finished where it was told
        Path run = dir.resolve("it's a \"run\" $(touch " + marker + ") `touch " + marker + "`; #x %j ü名");
        LocalSlurm.Output sub = LocalSlurm.exec(submit(CONFIG.toString(), "--run-dir", run.toString()), Map.of(), 60);
        System.out.print(sub.text());
        assertEquals(0, sub.exitCode(), sub.text());
        String job = sub.text().lines().filter(l -> l.startsWith("submitted job ")).findFirst().orElseThrow()
                .replaceAll("submitted job (\\d+):.*", "$1");
        LocalSlurm.JobEnd end = LocalSlurm.waitForEnd(job, 120);
        String state = end.state();
        String show = end.show();
        Path out = run.resolve("logs").resolve("slurm-" + job + ".out");
        assertTrue(Files.isRegularFile(out), "Slurm wrote the job's output into the run folder: " + out + "\n" + show);
        String text = Files.readString(out);
        System.out.print(text);
        assertEquals("COMPLETED", state, text);
        assertTrue(show.contains("WorkDir=" + run + " "), "Slurm's working folder is the run folder:\n" + show);
        assertTrue(text.contains("finished: step 3 is committed"), text);
        assertTrue(Files.isRegularFile(run.resolve("checkpoints").resolve("step-3").resolve("manifest.txt")));
        assertFalse(Files.exists(marker), "a command in the run folder's name was executed");
        assertFalse(Files.exists(evilDir.resolve("pwned")));
    }
}
