package org.twobp.launcher;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** How a rank's JVM is started: the same java, class path and native library path as the launcher. */
final class RankProcesses {

    private RankProcesses() {
    }

    static List<String> javaCommand(String openMpiLibdir) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String libPath = System.getProperty("java.library.path", "");
        if (openMpiLibdir != null && !(File.pathSeparator + libPath + File.pathSeparator)
                .contains(File.pathSeparator + openMpiLibdir + File.pathSeparator)) {
            libPath = openMpiLibdir + (libPath.isEmpty() ? "" : File.pathSeparator + libPath);
        }
        cmd.add("-Djava.library.path=" + libPath);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        return cmd;
    }

    /** mpirun refuses to run as root unless told; containers and CI run as root. */
    static void allowRoot(ProcessBuilder pb) {
        if ("root".equals(System.getProperty("user.name"))) {
            pb.environment().putIfAbsent("OMPI_ALLOW_RUN_AS_ROOT", "1");
            pb.environment().putIfAbsent("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        }
    }
}
