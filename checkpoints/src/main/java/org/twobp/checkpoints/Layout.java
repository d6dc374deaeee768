package org.twobp.checkpoints;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which layers each stage holds, for converting a checkpoint to another stage count. A layer is
 * a name prefix: {@code blocks.3} covers the tensor {@code blocks.3} and every {@code blocks.3.*};
 * when several layers cover a tensor, the longest wins. Text form: stages separated by
 * {@code |}, layers by {@code ,}: {@code embed,blocks.0,blocks.1|blocks.2,blocks.3,head}.
 */
public final class Layout {

    private final List<List<String>> layers;

    private Layout(List<List<String>> layers) {
        this.layers = layers;
    }

    public static Layout of(List<List<String>> layersPerStage) {
        if (layersPerStage.isEmpty()) {
            throw new CheckpointException("a layout needs at least one stage");
        }
        List<List<String>> copy = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int s = 0; s < layersPerStage.size(); s++) {
            List<String> stage = layersPerStage.get(s);
            if (stage.isEmpty()) {
                throw new CheckpointException("stage " + s + " of the layout has no layers; every stage needs at least one");
            }
            for (String layer : stage) {
                Names.check("layer", layer);
                if (!seen.add(layer)) {
                    throw new CheckpointException("layer " + layer + " is given to two stages of the layout");
                }
            }
            copy.add(List.copyOf(stage));
        }
        return new Layout(Collections.unmodifiableList(copy));
    }

    /** Reads {@code a,b|c|d,e}. */
    public static Layout parse(String text) {
        if (text == null || text.isBlank()) {
            throw new CheckpointException("empty layout; write the layers of each stage, stages separated by '|' and "
                    + "layers by ',', e.g. embed,blocks.0|blocks.1,head");
        }
        List<List<String>> stages = new ArrayList<>();
        for (String stage : text.split("\\|", -1)) {
            List<String> layers = new ArrayList<>();
            for (String layer : stage.split(",")) {
                if (!layer.isBlank()) {
                    layers.add(layer.strip());
                }
            }
            stages.add(layers);
        }
        return of(stages);
    }

    /**
     * Cuts the tensors, in checkpoint order, into {@code stages} consecutive runs of layers with
     * about equal bytes. Tensors sharing a name up to the last dot ({@code blocks.3.attn.wq},
     * {@code blocks.3.attn.wk}) form one layer and stay together.
     */
    public static Layout balanced(List<TensorInfo> tensors, int stages) {
        Map<String, Long> bytes = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            int dot = t.name().lastIndexOf('.');
            String layer = dot > 0 ? t.name().substring(0, dot) : t.name();
            bytes.merge(layer, t.elements(), Long::sum);
        }
        List<String> order = new ArrayList<>(bytes.keySet());
        if (stages < 1 || order.size() < stages) {
            throw new CheckpointException("cannot cut " + order.size() + " layers into " + stages
                    + " stages; use between 1 and " + order.size() + " stages");
        }
        double total = bytes.values().stream().mapToLong(Long::longValue).sum();
        List<List<String>> out = new ArrayList<>();
        List<String> current = new ArrayList<>();
        double cum = 0;
        for (int i = 0; i < order.size(); i++) {
            long w = bytes.get(order.get(i));
            int s = out.size();
            if (!current.isEmpty() && s < stages - 1) {
                double target = total * (s + 1) / stages;
                boolean mustClose = order.size() - i == stages - 1 - s;
                boolean closerNow = Math.abs(cum - target) <= Math.abs(cum + w - target);
                if (mustClose || closerNow) {
                    out.add(current);
                    current = new ArrayList<>();
                }
            }
            current.add(order.get(i));
            cum += w;
        }
        out.add(current);
        return of(out);
    }

    public int stages() {
        return layers.size();
    }

    public List<List<String>> layers() {
        return layers;
    }

    static boolean covers(String layer, String name) {
        return name.equals(layer) || (name.startsWith(layer) && name.charAt(layer.length()) == '.');
    }

    /** The stage whose longest layer covers {@code name}, or -1. */
    public int stageOf(String name) {
        int best = -1;
        int bestLength = -1;
        for (int s = 0; s < layers.size(); s++) {
            for (String layer : layers.get(s)) {
                if (covers(layer, name) && layer.length() > bestLength) {
                    best = s;
                    bestLength = layer.length();
                }
            }
        }
        return best;
    }

    /**
     * The tensor names of each stage, in the given order. Fails if a tensor belongs to no stage,
     * a layer covers no tensor, or a stage ends up empty.
     */
    public List<List<String>> assign(List<String> names) {
        List<List<String>> out = new ArrayList<>();
        for (int s = 0; s < layers.size(); s++) {
            out.add(new ArrayList<>());
        }
        List<String> unassigned = new ArrayList<>();
        for (String n : names) {
            int s = stageOf(n);
            if (s < 0) {
                unassigned.add(n);
            } else {
                out.get(s).add(n);
            }
        }
        if (!unassigned.isEmpty()) {
            throw new CheckpointException("the layout gives no stage to " + unassigned.size() + " tensor(s): "
                    + String.join(", ", unassigned.subList(0, Math.min(10, unassigned.size())))
                    + (unassigned.size() > 10 ? ", ..." : "") + "; add their layers to the layout");
        }
        for (List<String> stage : layers) {
            for (String layer : stage) {
                if (names.stream().noneMatch(n -> covers(layer, n))) {
                    throw new CheckpointException("layer " + layer + " of the layout covers no tensor of the checkpoint;"
                            + " list the tensors with 'twobp ckpt ls STEP_DIR'");
                }
            }
        }
        for (int s = 0; s < out.size(); s++) {
            if (out.get(s).isEmpty()) {
                throw new CheckpointException("stage " + s + " of the layout gets no tensor (longer layer names of other "
                        + "stages cover all of them)");
            }
        }
        return out;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (List<String> stage : layers) {
            if (sb.length() > 0) {
                sb.append('|');
            }
            sb.append(String.join(",", stage));
        }
        return sb.toString();
    }
}
