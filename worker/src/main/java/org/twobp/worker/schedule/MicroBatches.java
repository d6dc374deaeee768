package org.twobp.worker.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The micro-batch(es) one action works on: exactly one for F, I, B and communication, one or
 * more for W (a concatenated p2), none for STEP. Immutable, sorted and free of duplicates.
 * Text form: {@code 3} for one, {@code [4-7]} or {@code [1,3,5-6]} for a set.
 */
public final class MicroBatches {
    public static final MicroBatches NONE = new MicroBatches(new int[0]);

    private final int[] ids;

    private MicroBatches(int[] ids) {
        this.ids = ids;
    }

    public static MicroBatches of(int id) {
        return of(new int[] {id});
    }

    public static MicroBatches of(int... ids) {
        int[] sorted = ids.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            if (sorted[i] < 0) {
                throw new ScheduleException("micro-batch numbers start at 0, got " + sorted[i]);
            }
            if (i > 0 && sorted[i] == sorted[i - 1]) {
                throw new ScheduleException("micro-batch " + sorted[i] + " appears twice in one action");
            }
        }
        return new MicroBatches(sorted);
    }

    public static MicroBatches of(List<Integer> ids) {
        return of(ids.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Micro-batches first..last, both included. */
    public static MicroBatches range(int first, int last) {
        return of(IntStream.rangeClosed(first, last).toArray());
    }

    public int size() {
        return ids.length;
    }

    public boolean isEmpty() {
        return ids.length == 0;
    }

    public int get(int index) {
        return ids[index];
    }

    public int first() {
        return ids[0];
    }

    public int last() {
        return ids[ids.length - 1];
    }

    public boolean contains(int id) {
        return Arrays.binarySearch(ids, id) >= 0;
    }

    public IntStream stream() {
        return Arrays.stream(ids);
    }

    public int[] toArray() {
        return ids.clone();
    }

    /** {@code 3}, {@code [4-7]} or {@code [1,3,5-6]}; empty for none. */
    public String text() {
        if (ids.length == 0) {
            return "";
        }
        if (ids.length == 1) {
            return Integer.toString(ids[0]);
        }
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 1; i <= ids.length; i++) {
            if (i == ids.length || ids[i] != ids[i - 1] + 1) {
                parts.add(i - 1 == start ? Integer.toString(ids[start]) : ids[start] + "-" + ids[i - 1]);
                start = i;
            }
        }
        return "[" + String.join(",", parts) + "]";
    }

    /** Parses the text form; {@code [3]} equals {@code 3}. */
    public static MicroBatches parse(String text) {
        String t = text.trim();
        if (t.isEmpty()) {
            return NONE;
        }
        try {
            if (!t.startsWith("[")) {
                return of(Integer.parseInt(t));
            }
            if (!t.endsWith("]") || t.length() < 3) {
                throw new NumberFormatException();
            }
            List<Integer> ids = new ArrayList<>();
            for (String part : t.substring(1, t.length() - 1).split(",")) {
                String[] ends = part.trim().split("-");
                if (ends.length == 1) {
                    ids.add(Integer.parseInt(ends[0].trim()));
                } else if (ends.length == 2) {
                    int a = Integer.parseInt(ends[0].trim());
                    int b = Integer.parseInt(ends[1].trim());
                    if (b < a) {
                        throw new NumberFormatException();
                    }
                    for (int i = a; i <= b; i++) {
                        ids.add(i);
                    }
                } else {
                    throw new NumberFormatException();
                }
            }
            return of(ids);
        } catch (NumberFormatException e) {
            throw new ScheduleException("bad micro-batch list '" + text
                    + "': write one number (3), a range ([4-7]) or a list ([1,3,5-6])");
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof MicroBatches m && Arrays.equals(ids, m.ids);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids);
    }

    @Override
    public String toString() {
        return text();
    }
}
