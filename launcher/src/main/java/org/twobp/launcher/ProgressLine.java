package org.twobp.launcher;

import java.io.PrintStream;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rank 0's step lines as one progress bar, redrawn in place, when the launcher's output is a
 * terminal. Every other line passes through unchanged; logs and batch output keep the plain
 * step lines (the ranks always print those, and the per-rank log files hold them).
 */
final class ProgressLine {

    private static final Pattern STEP = Pattern.compile("^step\\s+(\\d+)/(\\d+) \\| (.*)$");
    private static final int WIDTH = 24;

    private final PrintStream out;
    private final boolean terminal;
    private boolean open;

    ProgressLine(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    static boolean stdoutIsTerminal() {
        return System.console() != null && System.getenv("TERM") != null && !"dumb".equals(System.getenv("TERM"));
    }

    void line(String l) {
        Matcher m = terminal ? STEP.matcher(l) : null;
        if (m != null && m.matches()) {
            out.print("\r" + bar(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(3)) + "\u001b[K");
            out.flush();
            open = true;
            return;
        }
        if (open) {
            out.println();
            open = false;
        }
        out.println(l);
    }

    void finish() {
        if (open) {
            out.println();
            open = false;
        }
        out.flush();
    }

    /** The bar and the step line's loss, accuracy, throughput and bubble: short enough for 80 columns. */
    static String bar(int step, int steps, String rest) {
        int filled = steps <= 0 ? 0 : (int) Math.min(WIDTH, (long) WIDTH * step / steps);
        StringBuilder fields = new StringBuilder();
        for (String f : rest.split(" \\| ")) {
            if (f.startsWith("loss ") || f.startsWith("acc ") || f.endsWith(" tok/s") || f.startsWith("bubble ")) {
                fields.append("  ").append(f.replaceFirst(" \\(max [^)]*\\)", ""));
            }
        }
        return String.format(Locale.ROOT, "[%s%s] %d/%d%s", "#".repeat(filled), ".".repeat(WIDTH - filled), step, steps,
                fields);
    }
}
