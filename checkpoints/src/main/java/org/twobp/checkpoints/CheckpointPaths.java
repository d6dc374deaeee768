package org.twobp.checkpoints;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where things lie on disk:
 * <pre>
 *   RUN_DIR/checkpoints/step-500/stage-0-of-4.h5     one file per (step, stage), written by that stage's rank
 *   RUN_DIR/checkpoints/step-500/stage-3-of-4.h5
 *   RUN_DIR/checkpoints/step-500/manifest.txt        written last, by rank 0: without it the folder is no checkpoint
 * </pre>
 * Files are written under a temporary name ({@code stage-0-of-4.h5.tmp-...}) and renamed when
 * complete; folders being purged are renamed to {@code .purging-step-N} first. A resume sets the
 * step folders of an abandoned later history aside as {@code stale-step-N-<millis>} (the time it
 * did so): invisible to resume, listed by {@code twobp ckpt ls}, purged by {@link Retention}.
 */
public final class CheckpointPaths {

    public static final String CHECKPOINTS = "checkpoints";
    public static final String MANIFEST = "manifest.txt";

    static final String TMP_MARK = ".tmp-";
    static final String PURGING_PREFIX = ".purging-";
    static final String STALE_PREFIX = "stale-";

    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{1,18})");
    private static final Pattern STALE_DIR = Pattern.compile("stale-step-(\\d{1,18})(?:-(\\d{1,18}))?");
    private static final Pattern STAGE_FILE = Pattern.compile("stage-(\\d{1,9})-of-(\\d{1,9})\\.h5");

    private CheckpointPaths() {
    }

    public static Path checkpointsDir(Path runDir) {
        return runDir.resolve(CHECKPOINTS);
    }

    public static Path stepDir(Path runDir, long step) {
        return checkpointsDir(runDir).resolve(stepDirName(step));
    }

    public static String stepDirName(long step) {
        return "step-" + step;
    }

    public static String stageFileName(int stage, int stages) {
        return "stage-" + stage + "-of-" + stages + ".h5";
    }

    /** The step of a folder named {@code step-N}, or -1. */
    public static long parseStep(String folderName) {
        Matcher m = STEP_DIR.matcher(folderName);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The name a step folder of an abandoned history is set aside under, at {@code millis} (epoch). */
    public static String staleDirName(long step, long millis) {
        return STALE_PREFIX + stepDirName(step) + "-" + millis;
    }

    /** The step of a folder named {@code stale-step-N[-millis]}, or -1. */
    public static long parseStaleStep(String folderName) {
        Matcher m = STALE_DIR.matcher(folderName);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** When a {@code stale-step-N-millis} folder was set aside (epoch millis), or -1 when its name does not say. */
    static long parseStaleTime(String folderName) {
        Matcher m = STALE_DIR.matcher(folderName);
        return m.matches() && m.group(2) != null ? Long.parseLong(m.group(2)) : -1;
    }

    /** {stage, stages} of a file named {@code stage-S-of-P.h5}, or null. */
    static int[] parseStageFile(String fileName) {
        Matcher m = STAGE_FILE.matcher(fileName);
        return m.matches() ? new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))} : null;
    }

    static boolean isTemporary(String fileName) {
        return fileName.contains(TMP_MARK);
    }

    /** A temporary name next to {@code target}, unique per process and call. */
    static Path temporaryFor(Path target) {
        return target.resolveSibling(target.getFileName() + TMP_MARK + ProcessHandle.current().pid() + "-"
                + Long.toHexString(System.nanoTime()));
    }
}
