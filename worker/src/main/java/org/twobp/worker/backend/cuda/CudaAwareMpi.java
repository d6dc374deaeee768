package org.twobp.worker.backend.cuda;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Whether the Open MPI of this machine can send from and receive into GPU memory. Only then may
 * activations and gradients go to MPI as device pointers; otherwise they are staged through host
 * memory. The answer comes from {@code ompi_info --parsable --all}: the library must be built with
 * CUDA support ({@code mpi_built_with_cuda_support}, which Open MPI 4 lists under its synonym
 * {@code opal_built_with_cuda_support}) and the support must not be switched off at run time
 * ({@code opal_cuda_support}, which the environment variable {@code OMPI_MCA_opal_cuda_support}
 * overrides). Pure Java; no CUDA library is touched.
 */
public final class CudaAwareMpi {

    /** Environment variable that enables or disables Open MPI's CUDA buffer support at run time. */
    public static final String ENV = "OMPI_MCA_opal_cuda_support";

    private static final long TIMEOUT_SECONDS = 10;

    private CudaAwareMpi() {
    }

    /**
     * The answer and how it was reached. When {@code ompi_info} could not be consulted,
     * {@code cudaAware} is false and {@code detail} starts with {@code "unknown: "}.
     */
    public record Result(boolean cudaAware, String detail) {

        /** False when {@code ompi_info} gave no answer (then {@link #cudaAware()} is a safe false). */
        public boolean known() {
            return !detail.startsWith("unknown: ");
        }
    }

    /** Runs {@code ompi_info} (10 s at most) and reads its answer together with {@value #ENV}. */
    public static Result detect() {
        String env = System.getenv(ENV);
        ProcessBuilder pb = new ProcessBuilder("ompi_info", "--parsable", "--all").redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new Result(false, "unknown: ompi_info not found on PATH (" + e.getMessage() + ")");
        }
        try {
            p.getOutputStream().close();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Thread reader = new Thread(() -> copy(p.getInputStream(), out), "ompi_info-reader");
            reader.setDaemon(true);
            reader.start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(false, "unknown: ompi_info did not finish within " + TIMEOUT_SECONDS + " s");
            }
            reader.join(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
            String text;
            synchronized (out) {
                text = out.toString(StandardCharsets.UTF_8);
            }
            if (p.exitValue() != 0 && !text.contains("_built_with_cuda_support:value:")) {
                return new Result(false, "unknown: ompi_info exited with status " + p.exitValue() + ": "
                        + firstLine(text));
            }
            return parse(text, env);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Result(false, "unknown: interrupted while waiting for ompi_info");
        } catch (IOException e) {
            p.destroyForcibly();
            return new Result(false, "unknown: ompi_info could not be run: " + e.getMessage());
        }
    }

    /**
     * Reads the output of {@code ompi_info --parsable --all}.
     *
     * @param ompiInfo  the output
     * @param envValue  the value of {@value #ENV}, or null when unset (it overrides the run-time switch)
     */
    static Result parse(String ompiInfo, String envValue) {
        Boolean built = null;
        Boolean enabled = null;
        String version = null;
        for (String raw : ompiInfo.split("\\R")) {
            String line = raw.trim();
            if (line.startsWith("ompi:version:full:")) {
                version = line.substring("ompi:version:full:".length());
            }
            Boolean v = paramValue(line, "mpi_built_with_cuda_support");
            if (v == null) {
                v = paramValue(line, "opal_built_with_cuda_support");
            }
            if (v != null) {
                built = v;
                continue;
            }
            v = paramValue(line, "opal_cuda_support");
            if (v == null) {
                v = paramValue(line, "mpi_cuda_support");
            }
            if (v != null) {
                enabled = v;
            }
        }
        String mpi = version != null ? "Open MPI " + version : "Open MPI";
        if (built == null) {
            return new Result(false, "unknown: ompi_info does not report mpi_built_with_cuda_support");
        }
        if (!built) {
            return new Result(false, mpi + " is built without CUDA support: GPU buffers are staged through host"
                    + " memory (a CUDA-aware build, configured --with-cuda, sends them directly)");
        }
        Boolean env = envValue == null || envValue.isBlank() ? null : parseBool(envValue);
        if (env != null) {
            return env
                    ? new Result(true, mpi + " is built with CUDA support, enabled by " + ENV + "=" + envValue.trim())
                    : new Result(false, mpi + " is built with CUDA support, but " + ENV + "=" + envValue.trim()
                    + " disables it");
        }
        if (enabled != null && !enabled) {
            return new Result(false, mpi + " is built with CUDA support, but opal_cuda_support is false (an MCA"
                    + " parameter file or option switches it off; " + ENV + "=1 enables it)");
        }
        return new Result(true, mpi + " is built with CUDA support");
    }

    /** The boolean of {@code mca:<fw>:<comp>:param:<name>:value:<v>}, or null when the line is another. */
    private static Boolean paramValue(String line, String name) {
        String key = ":param:" + name + ":value:";
        int at = line.indexOf(key);
        if (at < 0) {
            return null;
        }
        return parseBool(line.substring(at + key.length()));
    }

    private static Boolean parseBool(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true", "1", "yes", "on", "enabled" -> Boolean.TRUE;
            case "false", "0", "no", "off", "disabled" -> Boolean.FALSE;
            default -> null;
        };
    }

    private static String firstLine(String text) {
        String t = text.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] buf = new byte[1 << 16];
        try (in) {
            for (int n; (n = in.read(buf)) > 0; ) {
                synchronized (out) {
                    out.write(buf, 0, n);
                }
            }
        } catch (IOException ignored) {
            // the process was killed or closed its output: what was read is kept
        }
    }
}
