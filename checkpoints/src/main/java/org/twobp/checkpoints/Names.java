package org.twobp.checkpoints;

import java.util.regex.Pattern;

/**
 * What names may be stored: tensor names ({@code blocks.3.attn.wq}), array names
 * ({@code adam.m}) and state keys become HDF5 link and attribute names, where '/' would create
 * groups and '.' alone means "this group". A restricted alphabet also keeps the manifest's
 * tab-separated lines unambiguous.
 */
final class Names {

    private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.:\\-]*");
    private static final int MAX_LENGTH = 200;

    private Names() {
    }

    static String check(String kind, String name) {
        if (name == null || name.isEmpty()) {
            throw new CheckpointException(kind + " name is empty; give every " + kind + " a non-empty name");
        }
        if (name.length() > MAX_LENGTH || !ALLOWED.matcher(name).matches()) {
            throw new CheckpointException(kind + " name '" + name + "' cannot be stored: use letters, digits and "
                    + "'_', '.', ':', '-' only (no '/', no spaces, not starting with '.' or '-'), at most "
                    + MAX_LENGTH + " characters");
        }
        return name;
    }
}
