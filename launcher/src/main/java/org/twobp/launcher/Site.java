package org.twobp.launcher;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where this installation lives, as the ranks need it: the java binary, the class path (every
 * runtime jar), the native library path with Open MPI's libdir for {@code libmpi_java.so}, and
 * the installation's root (for {@code slurm/} templates). Job scripts are written with these
 * paths, so a rank starts with exactly the build the launcher runs from.
 *
 * <p>{@code bin/twobp} sets {@code twobp.home} and {@code twobp.classpath} (the lib folder as
 * one wildcard entry); without them the launcher's own class path is used.
 */
record Site(String java, String classpath, String libraryPath, Path home) {

    static Site current(String openMpiLibdir) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("twobp.classpath", System.getProperty("java.class.path"));
        String home = System.getProperty("twobp.home");
        return new Site(java, cp, libraryPath(System.getProperty("java.library.path", ""), openMpiLibdir),
                home == null ? null : Path.of(home));
    }

    /** {@code libPath} with Open MPI's libdir first, unless it is already on it. */
    static String libraryPath(String libPath, String openMpiLibdir) {
        if (openMpiLibdir == null || (File.pathSeparator + libPath + File.pathSeparator)
                .contains(File.pathSeparator + openMpiLibdir + File.pathSeparator)) {
            return libPath;
        }
        return openMpiLibdir + (libPath.isEmpty() ? "" : File.pathSeparator + libPath);
    }

    /** {@code java -Xss4m -Djava.library.path=... -cp ...}: the JVM of one rank, before its main class. */
    List<String> javaCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("-Xss4m");
        cmd.add("-Djava.library.path=" + libraryPath);
        cmd.add("-cp");
        cmd.add(classpath);
        return cmd;
    }
}
