package org.twobp.tests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real single-node Slurm cluster of {@code slurm/local-cluster.sh}, for end-to-end tests:
 * started if it is not running, client commands pointed at it through SLURM_CONF.
 */
public final class LocalSlurm {

    private static final Path SCRIPT = Path.of("..", "slurm", "local-cluster.sh").toAbsolutePath().normalize();
    private static String conf;
    private static boolean startedHere;

    private LocalSlurm() {
    }

    /** What a finished command printed. */
    public record Output(int exitCode, String text) {
    }

    public static synchronized String start() {
        if (conf == null) {
            Output o = exec(List.of("bash", SCRIPT.toString(), "start"), Map.of(), 60);
            if (o.exitCode() != 0) {
                throw new IllegalStateException("could not start the local Slurm cluster (" + SCRIPT + "):\n" + o.text());
            }
            startedHere = !o.text().contains("already running");
            Matcher m = Pattern.compile("SLURM_CONF=(\\S+)").matcher(o.text());
            if (!m.find()) {
                throw new IllegalStateException("local-cluster.sh did not say where SLURM_CONF is:\n" + o.text());
            }
            conf = m.group(1);
        }
        return conf;
    }

    /** Stops the cluster if this JVM started it. */
    public static synchronized void stopIfStartedHere() {
        if (conf != null && startedHere) {
            exec(List.of("bash", SCRIPT.toString(), "stop"), Map.of(), 60);
        }
        conf = null;
    }

    public static Output exec(List<String> cmd, Map<String, String> env, double timeoutSeconds) {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        if (conf != null) {
            pb.environment().put("SLURM_CONF", conf);
        }
        if ("root".equals(System.getProperty("user.name"))) {
            pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
            pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        }
        try {
            Path log = Files.createTempFile("twobp-cmd", ".log");
            pb.redirectOutput(log.toFile());
            Process p = pb.start();
            if (!p.waitFor((long) (timeoutSeconds * 1000), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                String text = Files.readString(log, StandardCharsets.UTF_8);
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s:\n" + text);
            }
            String text = Files.readString(log, StandardCharsets.UTF_8);
            Files.deleteIfExists(log);
            return new Output(p.exitValue(), text);
        } catch (IOException e) {
            throw new IllegalStateException("could not run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Submits a batch script and waits for the job to end, polling scontrol (sbatch --wait backs
     * off to ~10 s polls). Returns the final state, e.g. COMPLETED or FAILED.
     */
    public static String submitAndWait(Path script, double timeoutSeconds) {
        start();
        Output sub = exec(List.of("sbatch", "--parsable", script.toString()), Map.of(), 30);
        if (sub.exitCode() != 0) {
            throw new IllegalStateException("sbatch failed:\n" + sub.text());
        }
        String jobId = sub.text().strip().split(";")[0];
        return waitForEnd(jobId, timeoutSeconds).state();
    }

    /** The JobState of a job as scontrol shows it now, or null when scontrol does not know the job. */
    public static String jobState(String jobId) {
        return state(exec(List.of("scontrol", "show", "job", "-o", jobId), Map.of(), 30).text());
    }

    private static String state(String show) {
        Matcher m = Pattern.compile("JobState=(\\S+)").matcher(show);
        return m.find() ? m.group(1) : null;
    }

    /** How a job ended: its final state and scontrol's last description of it. */
    public record JobEnd(String state, String show) {
    }

    /**
     * Waits for a job to leave PENDING, CONFIGURING, RUNNING and COMPLETING, polling scontrol; a job
     * still in one of them after the timeout is cancelled and the wait fails.
     */
    public static JobEnd waitForEnd(String jobId, double timeoutSeconds) {
        long deadline = System.nanoTime() + (long) (timeoutSeconds * 1e9);
        String state = "UNKNOWN";
        while (System.nanoTime() < deadline) {
            String show = exec(List.of("scontrol", "show", "job", "-o", jobId), Map.of(), 30).text();
            state = state(show);
            if (state != null && !List.of("PENDING", "RUNNING", "CONFIGURING", "COMPLETING").contains(state)) {
                return new JobEnd(state, show);
            }
            sleep(300);
        }
        exec(List.of("scancel", jobId), Map.of(), 30);
        throw new IllegalStateException("job " + jobId + " still " + state + " after " + timeoutSeconds + " s");
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
