package org.twobp.launcher;

import java.util.List;

/** How a rank's JVM is started: the same java, class path and native library path as the launcher. */
final class RankProcesses {

    private RankProcesses() {
    }

    static List<String> javaCommand(String openMpiLibdir) {
        return Site.current(openMpiLibdir).javaCommand();
    }

    /** mpirun refuses to run as root unless told; containers and CI run as root. */
    static void allowRoot(ProcessBuilder pb) {
        if ("root".equals(System.getProperty("user.name"))) {
            pb.environment().putIfAbsent("OMPI_ALLOW_RUN_AS_ROOT", "1");
            pb.environment().putIfAbsent("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        }
    }
}
