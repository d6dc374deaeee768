package org.twobp.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.twobp.mpi.RankInfo;

/**
 * What this machine and job offer a run: Slurm allocation, Open MPI and its Java bindings,
 * PMIx, GPUs, BLAS; and the inconsistencies that make runs fail or mis-bind later.
 */
record Environment(Map<String, String> env, String openMpiVersion, String openMpiLibdir, boolean ompiJava,
                   boolean mpiJarOnClasspath, List<String> gpus, String blas) {

    static Environment detect() {
        Map<String, String> env = System.getenv();
        String version = firstLine(run("ompi_info", "--version"), "Open MPI v");
        String libdir = null;
        String parsable = run("ompi_info", "--path", "libdir", "--parsable");
        if (parsable != null) {
            for (String l : parsable.split("\n")) {
                if (l.startsWith("path:libdir:")) {
                    libdir = l.substring("path:libdir:".length()).strip();
                }
            }
        }
        String info = run("ompi_info");
        boolean ompiJava = info != null && info.lines().anyMatch(l -> l.strip().matches("Java bindings:\\s*yes"));
        boolean jar;
        try {
            Class.forName("mpi.MPI", false, Environment.class.getClassLoader());
            jar = true;
        } catch (ClassNotFoundException | LinkageError e) {
            jar = false;
        }
        List<String> gpus = new ArrayList<>();
        String smi = run("nvidia-smi", "-L");
        if (smi != null) {
            smi.lines().filter(l -> l.startsWith("GPU ")).forEach(gpus::add);
        }
        return new Environment(env, version, libdir, ompiJava, jar, gpus, detectBlas());
    }

    private static String detectBlas() {
        String cache = run("ldconfig", "-p");
        if (cache == null) {
            cache = run("/sbin/ldconfig", "-p");
        }
        if (cache == null) {
            return "unknown (ldconfig not available)";
        }
        String blas3 = cache.lines().filter(l -> l.contains("libblas.so.3")).findFirst().orElse(null);
        if (blas3 == null) {
            return "none: no libblas.so.3 (install libopenblas0-pthread); GEMM falls back to pure Java";
        }
        String target = blas3.substring(blas3.indexOf("=>") + 2).strip();
        try {
            Path real = Path.of(target).toRealPath();
            return real.toString().contains("openblas") ? "OpenBLAS (" + real + ")" : "reference or other BLAS (" + real + ")";
        } catch (IOException e) {
            return target;
        }
    }

    RankInfo rankInfo() {
        return RankInfo.fromEnvironment(env);
    }

    boolean inSlurmAllocation() {
        return env.containsKey("SLURM_JOB_ID");
    }

    /** Tasks of the allocation this process runs in, or -1 outside one (or when Slurm does not say). */
    int slurmTasks() {
        if (!inSlurmAllocation()) {
            return -1;
        }
        int n = intOr("SLURM_NTASKS", -1);
        return n > 0 ? n : intOr("SLURM_NPROCS", -1);
    }

    /** The program's path on PATH, or null. */
    static String which(String program) {
        return onPath(System.getenv().getOrDefault("PATH", ""), program);
    }

    /** The program's path on this environment's PATH, or null. */
    String onPath(String program) {
        return onPath(env.getOrDefault("PATH", ""), program);
    }

    private static String onPath(String path, String program) {
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return Path.of(dir, program).toString();
            }
        }
        return null;
    }

    /** Settings that will make a run fail or bind ranks to the wrong devices. */
    List<String> warnings() {
        List<String> w = new ArrayList<>();
        if (openMpiVersion == null) {
            w.add("Open MPI not found (ompi_info is not on PATH): apt-get install openmpi-bin libopenmpi-dev (make setup does it), or 'module load openmpi' on a cluster");
        }
        if (!mpiJarOnClasspath) {
            w.add("Open MPI's Java bindings (mpi.jar) are not on the class path: run 'make build' (set-up builds mpi.jar)");
        }
        if (inSlurmAllocation()) {
            int tasks = intOr("SLURM_NTASKS", -1);
            int gpusOnNode = gpuCountFromSlurm();
            int nodes = intOr("SLURM_NNODES", 1);
            if (tasks > 0 && gpusOnNode > 0 && tasks != gpusOnNode * nodes) {
                w.add("the allocation has " + tasks + " tasks but " + gpusOnNode + " GPU(s) per node on " + nodes
                        + " node(s): twobp runs one rank per GPU, so ask for --ntasks-per-node=" + gpusOnNode);
            }
        }
        String cvd = env.get("CUDA_VISIBLE_DEVICES");
        if (cvd != null && !gpus.isEmpty()) {
            int visible = cvd.isBlank() ? 0 : cvd.split(",").length;
            RankInfo r = rankInfo();
            if (visible == 1 && r.localSize() > 1) {
                w.add("CUDA_VISIBLE_DEVICES=" + cvd + " shows one GPU to each of " + r.localSize() + " ranks on this node: "
                        + "either Slurm binds one GPU per task (then local rank must use device 0) or all ranks share one GPU");
            } else if (visible > 0 && visible < r.localSize()) {
                w.add("CUDA_VISIBLE_DEVICES=" + cvd + " shows " + visible + " GPU(s) to " + r.localSize() + " local ranks: "
                        + "some ranks would share a GPU");
            }
        }
        if (!gpus.isEmpty() && env.containsKey("OMPI_COMM_WORLD_LOCAL_SIZE")) {
            int local = intOr("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
            if (local != gpus.size() && cvd == null) {
                w.add(local + " ranks on this node but " + gpus.size() + " GPU(s): one rank per GPU is the intended layout");
            }
        }
        return w;
    }

    private int gpuCountFromSlurm() {
        for (String key : new String[] {"SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE"}) {
            String v = env.get(key);
            if (v != null) {
                try {
                    return Integer.parseInt(v.replaceAll("^.*:", "").strip());
                } catch (NumberFormatException e) {
                    // a typed count such as "a100:4" is handled above; anything else is not a count
                }
            }
        }
        return gpus.size();
    }

    private int intOr(String key, int fallback) {
        try {
            return env.containsKey(key) ? Integer.parseInt(env.get(key).strip()) : fallback;
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    String report() {
        StringBuilder s = new StringBuilder();
        s.append("twobp environment\n");
        s.append("  java          ").append(System.getProperty("java.version")).append(" (")
                .append(System.getProperty("java.home")).append(")\n");
        s.append("  cores         ").append(Runtime.getRuntime().availableProcessors()).append('\n');
        s.append("  Open MPI      ").append(openMpiVersion == null ? "not found" : openMpiVersion)
                .append(openMpiLibdir == null ? "" : ", libdir " + openMpiLibdir)
                .append(", built with Java bindings: ").append(ompiJava ? "yes" : "no").append('\n');
        s.append("  mpi.jar       ").append(mpiJarOnClasspath ? "on the class path" : "MISSING").append('\n');
        s.append("  BLAS          ").append(blas).append('\n');
        s.append("  GPUs          ").append(gpus.isEmpty() ? "none (CPU backend)" : String.join("; ", gpus)).append('\n');
        s.append("  CUDA_VISIBLE_DEVICES ").append(env.getOrDefault("CUDA_VISIBLE_DEVICES", "(unset)")).append('\n');
        if (inSlurmAllocation()) {
            s.append("  Slurm         job ").append(env.get("SLURM_JOB_ID"))
                    .append(", ").append(env.getOrDefault("SLURM_NTASKS", "?")).append(" tasks on ")
                    .append(env.getOrDefault("SLURM_JOB_NODELIST", "?"))
                    .append(", tasks per node ").append(env.getOrDefault("SLURM_TASKS_PER_NODE", "?")).append('\n');
        } else {
            s.append("  Slurm         not inside an allocation").append('\n');
        }
        for (String k : new String[] {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                "PMIX_RANK", "PMIX_NAMESPACE", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_CPUS_PER_TASK",
                "SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "SLURM_RESTART_COUNT"}) {
            if (env.containsKey(k)) {
                s.append(String.format("  %-22s%s%n", k, env.get(k)));
            }
        }
        s.append("  this process  ").append(rankInfo()).append('\n');
        List<String> w = warnings();
        for (String x : w) {
            s.append("WARNING: ").append(x).append('\n');
        }
        return s.toString();
    }

    /** Output of a short command, or null when it cannot run. */
    static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return null;
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static String firstLine(String text, String prefix) {
        if (text == null) {
            return null;
        }
        return text.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()).strip())
                .findFirst().orElse(null);
    }

}
