package org.twobp.tests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts a Java main class on N ranks under the real {@code mpirun}, the way users do, and
 * collects its exit code and output. Integration tests fail (they never skip) when mpirun is
 * missing: {@code make test} installs Open MPI first.
 */
public final class MpiRun {

    /** What a finished run left behind. */
    public record Result(int exitCode, String output, double seconds, boolean timedOut) {
        public boolean hasLine(String line) {
            return output.lines().anyMatch(l -> l.strip().equals(line));
        }
    }

    private MpiRun() {
    }

    /** The class path of a rank: this module's classes plus every runtime dependency. */
    public static String rankClasspath() {
        String file = System.getProperty("twobp.rankClasspathFile");
        String classes = System.getProperty("twobp.classes");
        if (file == null || classes == null) {
            throw new IllegalStateException("twobp.rankClasspathFile / twobp.classes not set: run the tests through Maven (make test)");
        }
        try {
            return classes + java.io.File.pathSeparator + Files.readString(Path.of(file)).strip();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the rank class path from " + file, e);
        }
    }

    public static Result run(int ranks, double timeoutSeconds, String mainClass, String... args) {
        String mpirun = which("mpirun");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(mpirun, "--oversubscribe", "-np", String.valueOf(ranks),
                "-x", "OPENBLAS_NUM_THREADS=1", java, "-Xmx1g", "-cp", rankClasspath(), mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if ("root".equals(System.getProperty("user.name"))) {
            pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
            pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        }
        long start = System.nanoTime();
        try {
            Path log = Files.createTempFile("twobp-mpirun", ".log");
            pb.redirectOutput(log.toFile());
            Process p = pb.start();
            boolean finished = p.waitFor((long) (timeoutSeconds * 1000), TimeUnit.MILLISECONDS);
            if (!finished) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            String out = Files.readString(log, StandardCharsets.UTF_8);
            Files.deleteIfExists(log);
            System.out.println("---- mpirun -np " + ranks + " " + mainClass + " " + String.join(" ", args)
                    + " (" + String.format("%.1f", seconds) + " s, exit " + (finished ? p.exitValue() : "timeout") + ")");
            System.out.print(out);
            return new Result(finished ? p.exitValue() : -1, out, seconds, !finished);
        } catch (IOException e) {
            throw new IllegalStateException("could not start " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for mpirun", e);
        }
    }

    static String which(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new IllegalStateException(program + " is not on PATH: install Open MPI (make setup does it: "
                + "apt-get install openmpi-bin libopenmpi-dev)");
    }
}
