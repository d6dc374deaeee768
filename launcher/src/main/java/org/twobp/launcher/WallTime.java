package org.twobp.launcher;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Slurm time limit: {@code HH:MM:SS}, {@code MM:SS}, {@code MM}, or with days, {@code D-HH[:MM[:SS]]}. */
record WallTime(long seconds) {

    private static final Pattern DAYS = Pattern.compile("(\\d+)-(\\d+)(?::(\\d+))?(?::(\\d+))?");
    private static final Pattern CLOCK = Pattern.compile("(\\d+)(?::(\\d+))?(?::(\\d+))?");

    static WallTime parse(String command, String text) {
        String t = text.strip();
        long s;
        Matcher d = DAYS.matcher(t);
        Matcher c = CLOCK.matcher(t);
        try {
            if (d.matches()) {
                s = Long.parseLong(d.group(1)) * 86400 + Long.parseLong(d.group(2)) * 3600 + part(command, text, d.group(3)) * 60
                        + part(command, text, d.group(4));
            } else if (c.matches()) {
                long a = Long.parseLong(c.group(1));
                if (c.group(3) != null) {
                    s = a * 3600 + part(command, text, c.group(2)) * 60 + part(command, text, c.group(3));
                } else if (c.group(2) != null) {
                    s = a * 60 + part(command, text, c.group(2));
                } else {
                    s = a * 60;
                }
            } else {
                throw new UsageException(command, "--time " + text + ": use HH:MM:SS (e.g. 04:00:00), MM:SS, minutes, or"
                        + " D-HH:MM:SS");
            }
        } catch (NumberFormatException e) {
            throw new UsageException(command, "--time " + text + " is too large");
        }
        if (s < 1) {
            throw new UsageException(command, "--time " + text + " must be at least one second");
        }
        return new WallTime(s);
    }

    /** Minutes or seconds after the first field: 0 to 59. */
    private static long part(String command, String text, String v) {
        if (v == null) {
            return 0;
        }
        long n = Long.parseLong(v);
        if (n > 59) {
            throw new UsageException(command, "--time " + text + ": minutes and seconds go up to 59");
        }
        return n;
    }

    /** As Slurm writes it: {@code HH:MM:SS}, or {@code D-HH:MM:SS} from a day on. */
    String slurm() {
        long days = seconds / 86400;
        long rest = seconds % 86400;
        String clock = String.format(Locale.ROOT, "%02d:%02d:%02d", rest / 3600, rest % 3600 / 60, rest % 60);
        return days > 0 ? days + "-" + clock : clock;
    }
}
