package org.twobp.launcher;

import java.util.List;
import java.util.stream.Collectors;

/** Commands printed so that they can be pasted into a shell as they are. */
final class Shell {

    private Shell() {
    }

    /** A word as the shell needs it: unchanged when safe, else in single quotes. */
    static String quote(String word) {
        if (!word.isEmpty() && word.matches("[A-Za-z0-9_@%+=:,./-]+")) {
            return word;
        }
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /**
     * The first control character of {@code value} (newline, tab, NUL, DEL ...) as "U+000A", or
     * null: such a character would end or split a line of a job script, a log or a config file.
     */
    static String controlCharacter(String value) {
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                return String.format(java.util.Locale.ROOT, "U+%04X", (int) value.charAt(i));
            }
        }
        return null;
    }

    static String join(List<String> words) {
        return words.stream().map(Shell::quote).collect(Collectors.joining(" "));
    }
}
