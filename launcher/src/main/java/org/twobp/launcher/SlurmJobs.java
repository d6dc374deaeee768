package org.twobp.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The Slurm jobs a run was submitted as ({@code jobs.txt}), and what Slurm says about them. */
final class SlurmJobs {

    private static final Pattern STATE = Pattern.compile("\\bJobState=(\\S+)");
    private static final Pattern RESTARTS = Pattern.compile("\\bRestarts=(\\d+)");
    private static final Pattern REASON = Pattern.compile("\\bReason=(\\S+)");
    private static final List<String> ACTIVE = List.of("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED",
            "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT");
    /** Ended with the ranks' own failure or the machine's; not a cancel, a time limit or a success. */
    private static final List<String> FAILED = List.of("FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL");

    private SlurmJobs() {
    }

    /** One job as {@code scontrol show job -o} shows it: state, restarts, and why it waits (None when it does not). */
    record Job(String id, String state, int restarts, String reason) {

        /** Queued, starting, running or ending: Slurm still has work to do for it. */
        boolean active() {
            return ACTIVE.contains(state);
        }

        boolean queued() {
            return state.equals("PENDING") || state.startsWith("REQUEUE");
        }

        boolean cancelled() {
            return state.equals("CANCELLED");
        }

        /** TIMEOUT once ended; while its processes are killed, COMPLETING with reason TimeLimit. */
        boolean timedOut() {
            return state.equals("TIMEOUT") || state.equals("DEADLINE") || "TimeLimit".equals(reason);
        }

        boolean failed() {
            return FAILED.contains(state);
        }

        /** "RUNNING, 1 restart" or "PENDING (Resources), 0 restarts". */
        String text() {
            return state + (reason == null || reason.equals("None") ? "" : " (" + reason + ")") + ", " + restarts
                    + " restart" + (restarts == 1 ? "" : "s");
        }
    }

    static List<String> ids(RunFolder run) {
        Path f = run.dir().resolve("jobs.txt");
        try {
            return Files.isRegularFile(f) ? Files.readAllLines(f).stream().map(String::strip).filter(s -> !s.isEmpty()).toList()
                    : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The job in one line of {@code scontrol show job -o}, or null when the line holds none. */
    static Job parse(String id, String scontrolLine) {
        if (scontrolLine == null) {
            return null;
        }
        Matcher s = STATE.matcher(scontrolLine);
        if (!s.find()) {
            return null;
        }
        Matcher r = RESTARTS.matcher(scontrolLine);
        Matcher why = REASON.matcher(scontrolLine);
        return new Job(id, s.group(1), r.find() ? Integer.parseInt(r.group(1)) : 0, why.find() ? why.group(1) : null);
    }

    /** What Slurm says of job {@code id}, or null when it does not know the job (any more) or cannot be asked. */
    static Job describe(String id) {
        if (Environment.which("scontrol") == null) {
            return null;
        }
        return parse(id, Environment.run("scontrol", "show", "job", "-o", id));
    }

    /** The run's newest job as Slurm knows it, or null. */
    static Job newest(RunFolder run) {
        List<String> ids = ids(run);
        return ids.isEmpty() ? null : describe(ids.get(ids.size() - 1));
    }

    /** The run's newest job if Slurm still has it queued or running, else null. */
    static String activeJob(RunFolder run) {
        Job j = newest(run);
        return j != null && j.active() ? j.id() : null;
    }
}
