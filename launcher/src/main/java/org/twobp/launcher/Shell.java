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

    static String join(List<String> words) {
        return words.stream().map(Shell::quote).collect(Collectors.joining(" "));
    }
}
