package org.twobp.datasets;

/**
 * The character vocabulary shared by the synthetic tasks: id = index in {@link #CHARS}.
 * Digits are their own ids (0..9), then '+', '=', '|' (copy separator), '.' (end of a
 * problem) and '_' (padding after the last problem of a row).
 */
public final class SyntheticVocabulary {

    public static final String CHARS = "0123456789+=|._";
    public static final int PLUS = 10;
    public static final int EQUALS = 11;
    public static final int SEPARATOR = 12;
    public static final int END = 13;
    public static final int PAD = 14;
    /** The vocabulary size a model needs for the synthetic tasks. */
    public static final int SIZE = CHARS.length();

    private SyntheticVocabulary() {
    }

    /** Text of ids, e.g. {@code "123+456=0579."}; an id outside the vocabulary (or -1) prints as '?'. */
    public static String decode(int[] ids, int from, int to) {
        StringBuilder s = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            int id = ids[i];
            s.append(id >= 0 && id < SIZE ? CHARS.charAt(id) : '?');
        }
        return s.toString();
    }

    public static String decode(int[] ids) {
        return decode(ids, 0, ids.length);
    }

    public static int[] encode(String text) {
        int[] ids = new int[text.length()];
        for (int i = 0; i < ids.length; i++) {
            int id = CHARS.indexOf(text.charAt(i));
            if (id < 0) {
                throw new DatasetException("character '" + text.charAt(i) + "' is not in the synthetic vocabulary \""
                        + CHARS + "\"");
            }
            ids[i] = id;
        }
        return ids;
    }
}
