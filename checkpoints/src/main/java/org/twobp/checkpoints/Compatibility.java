package org.twobp.checkpoints;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Compares a checkpoint with the model about to load it, and says every way they differ. */
final class Compatibility {

    private static final int LIST_AT_MOST = 10;

    private Compatibility() {
    }

    /** One line per kind of difference; empty when the checkpoint fits. */
    static List<String> differences(Manifest m, Map<String, String> savedAttributes, ModelSpec spec) {
        Map<String, Manifest.TensorRecord> saved = m.byName();
        List<String> missing = new ArrayList<>();
        List<String> shapes = new ArrayList<>();
        for (Map.Entry<String, int[]> e : spec.shapes().entrySet()) {
            Manifest.TensorRecord r = saved.get(e.getKey());
            if (r == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(r.shape(), e.getValue())) {
                shapes.add(e.getKey() + ": checkpoint " + TensorInfo.shapeText(r.shape()) + ", model "
                        + TensorInfo.shapeText(e.getValue()));
            }
        }
        List<String> extra = new ArrayList<>();
        if (spec.isWholeModel()) {
            for (String name : saved.keySet()) {
                if (!spec.shapes().containsKey(name)) {
                    extra.add(name);
                }
            }
        }
        List<String> attrs = new ArrayList<>();
        Set<String> keys = new LinkedHashSet<>(spec.attributes().keySet());
        keys.addAll(savedAttributes.keySet());
        for (String k : keys) {
            String mine = spec.attributes().get(k);
            String theirs = savedAttributes.get(k);
            if (mine == null || theirs == null || !mine.equals(theirs)) {
                attrs.add(k + ": checkpoint " + (theirs == null ? "(not recorded)" : theirs) + ", model "
                        + (mine == null ? "(not given)" : mine));
            }
        }
        List<String> out = new ArrayList<>();
        add(out, "model attributes differ", attrs);
        add(out, "missing in the checkpoint", missing);
        add(out, "in the checkpoint but not in this model", extra);
        add(out, "shapes differ", shapes);
        return out;
    }

    private static void add(List<String> out, String title, List<String> items) {
        if (items.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder(title).append(" (").append(items.size()).append("): ");
        sb.append(String.join(", ", items.subList(0, Math.min(LIST_AT_MOST, items.size()))));
        if (items.size() > LIST_AT_MOST) {
            sb.append(", ... and ").append(items.size() - LIST_AT_MOST).append(" more");
        }
        out.add(sb.toString());
    }
}
