package org.twobp.tests;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An mpirun job whose every process carries a unique marker on its command line, so a test can
 * find the rank JVMs (to kill one) and prove afterwards that no process of the job is left.
 */
public final class MarkedJob {

    private static final String PROPERTY = "-Dtwobp.test.marker=";

    private MarkedJob() {
    }

    /** Starts {@code mpirun -np ranks java ... mainClass args}, all output to {@code log}. */
    public static Process mpirun(int ranks, String marker, Path log, String mainClass, List<String> args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of("mpirun", "--oversubscribe", "-np", String.valueOf(ranks),
                "-x", "OPENBLAS_NUM_THREADS=1", java, "-Xmx512m", PROPERTY + marker, "-cp", MpiRun.rankClasspath(),
                mainClass));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        return pb.start();
    }

    /** Every process of the job still alive (mpirun and the ranks). */
    public static List<ProcessHandle> alive(String marker) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(PROPERTY + marker)).orElse(false)).toList();
    }

    /** The rank JVMs only. */
    public static List<ProcessHandle> rankJvms(String marker) {
        return alive(marker).stream().filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false)).toList();
    }
}
