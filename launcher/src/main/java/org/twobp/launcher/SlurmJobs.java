package org.twobp.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The Slurm jobs a run was submitted as ({@code jobs.txt}), and what Slurm says about them. */
final class SlurmJobs {

    private static final Pattern STATE = Pattern.compile("JobState=(\\S+)");
    private static final Pattern RESTARTS = Pattern.compile("Restarts=(\\d+)");
    private static final List<String> ACTIVE = List.of("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED",
            "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT");

    private SlurmJobs() {
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

    /** "RUNNING, 1 restart", or null when Slurm does not know the job (any more). */
    static String describe(String id) {
        if (Environment.which("scontrol") == null) {
            return null;
        }
        String out = Environment.run("scontrol", "show", "job", "-o", id);
        if (out == null) {
            return null;
        }
        Matcher s = STATE.matcher(out);
        if (!s.find()) {
            return null;
        }
        Matcher r = RESTARTS.matcher(out);
        String restarts = r.find() ? r.group(1) : "0";
        return s.group(1) + ", " + restarts + " restart" + (restarts.equals("1") ? "" : "s");
    }

    /** The run's newest job if Slurm still has it queued or running, else null. */
    static String activeJob(RunFolder run) {
        List<String> ids = ids(run);
        if (ids.isEmpty()) {
            return null;
        }
        String id = ids.get(ids.size() - 1);
        String d = describe(id);
        return d != null && ACTIVE.contains(d.substring(0, d.indexOf(','))) ? id : null;
    }
}
