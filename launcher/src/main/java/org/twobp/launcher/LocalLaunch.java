package org.twobp.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One attempt of a run on this machine, or inside an existing allocation: {@code mpirun} with
 * one JVM per rank, every rank's output also kept in {@code logs/<attempt>/1/rank.R/stdout}.
 * The ranks' lines are shown as they come; when the run fails, the failing rank is named with
 * the tail of its log.
 */
record LocalLaunch(Site site, boolean inAllocation, int ranks, RunFolder run, String resume, List<String> workerExtras,
                   Path attemptDir, boolean root) {

    static final int STOP_GRACE_SECONDS = 30;

    static Path newAttemptDir(RunFolder run, LocalDateTime now) {
        String base = "local-" + now.format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
        Path p = run.logs().resolve(base);
        for (int i = 2; Files.exists(p); i++) {
            p = run.logs().resolve(base + "-" + i);
        }
        return p;
    }

    /** Variables the command needs besides the caller's environment. */
    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        if (root) {
            env.put("OMPI_ALLOW_RUN_AS_ROOT", "1");
            env.put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        }
        return env;
    }

    List<String> command() {
        List<String> cmd = new ArrayList<>(List.of("mpirun"));
        if (!inAllocation) {
            cmd.add("--oversubscribe");   // more ranks than cores is fine for CPU tests on a small machine
        }
        cmd.addAll(List.of("-np", String.valueOf(ranks), "--output-filename", attemptDir.toString(),
                "--merge-stderr-to-stdout", "-x", "OPENBLAS_NUM_THREADS=1"));
        cmd.addAll(site.javaCommand());
        cmd.addAll(List.of(WorkerArgs.MAIN, "--config", run.config().toString(), "--run-dir", run.dir().toString(),
                "--from", resume));
        cmd.addAll(workerExtras);
        return cmd;
    }

    /** The command as a shell line, with the variables it needs in front. */
    String commandLine() {
        StringBuilder s = new StringBuilder();
        environment().forEach((k, v) -> s.append(k).append('=').append(Shell.quote(v)).append(' '));
        return s + Shell.join(command());
    }

    /** Runs the attempt; returns mpirun's exit code after reporting a failure or how to continue. */
    int run(PrintStream out, PrintStream err, boolean terminal) throws IOException, InterruptedException {
        Files.createDirectories(attemptDir);
        ProcessBuilder pb = new ProcessBuilder(command()).redirectErrorStream(true);
        pb.environment().putAll(environment());
        pb.environment().remove("OMPI_MCA_orte_output_filename");
        Process p = pb.start();
        // The launcher asked to end (SIGTERM, or Ctrl-C, which reaches mpirun too): the ranks get the
        // stop request and a while to checkpoint; then mpirun is ended, which ends every rank. The
        // JVM halts when this hook returns, so it waits for the closing message below.
        AtomicBoolean stopping = new AtomicBoolean();
        CountDownLatch closed = new CountDownLatch(1);
        Thread stopper = new Thread(() -> {
            if (!p.isAlive()) {
                return;
            }
            stopping.set(true);
            try {
                Files.writeString(run.stopFile(), "");
                err.println("[twobp] the launcher is stopping: the ranks checkpoint after this step (up to "
                        + STOP_GRACE_SECONDS + " s)");
                if (!p.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
                    p.destroy();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (IOException | InterruptedException e) {
                // fall through to ending the ranks
            }
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            try {
                closed.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                // halting anyway
            }
        });
        Runtime.getRuntime().addShutdownHook(stopper);
        Deque<String> recent = new ArrayDeque<>();
        ProgressLine progress = new ProgressLine(out, terminal);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
             Writer log = Files.newBufferedWriter(attemptDir.resolve("output.log"), StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) {
                progress.line(line);
                log.write(line);
                log.write('\n');
                recent.addLast(line);
                if (recent.size() > 400) {
                    recent.removeFirst();
                }
            }
        } catch (IOException e) {
            // mpirun's output closed under us: the launcher is being stopped
        } finally {
            progress.finish();
        }
        int code = p.waitFor();
        try {
            Runtime.getRuntime().removeShutdownHook(stopper);
        } catch (IllegalStateException e) {
            // shutting down already
        }
        try {
            if (code != 0 && stopping.get()) {
                // mpirun exits 1 whenever it got the signal itself, also when every rank checkpointed and exited 0
                err.println("[twobp] stopped on request (mpirun exit code " + code + " after the signal); "
                        + RunState.of(run).howToContinue());
                return code;
            }
            if (code != 0) {
                FailureReport f = FailureReport.of(code, FailureReport.rankLogs(attemptDir), new ArrayList<>(recent),
                        rank -> attemptDir.resolve("1").resolve("rank." + rank).resolve("stdout"));
                err.println();
                err.println("twobp: the run failed (mpirun exit code " + code + ")");
                err.print(f.render());
                err.println("run folder " + run.dir() + "; " + RunState.of(run).howToContinue());
                return code;
            }
            out.println(RunState.of(run).verdict());
            return 0;
        } finally {
            closed.countDown();
        }
    }
}
