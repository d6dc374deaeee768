package org.twobp.checkpoints;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the model about to be trained expects of a checkpoint: tensor names and shapes, and
 * model attributes (vocabulary size, width, ...) compared with {@link TrainingState#model()}.
 * A whole-model spec also refuses checkpoint tensors it does not name; a stage spec (the tensors
 * of one new stage) only needs its own to be there.
 * <pre>
 *   ModelSpec.wholeModel().tensor("embed.wte", 50257, 768).tensor("blocks.0.ln1.g", 768)
 *            .attribute("vocab_size", "50257");
 * </pre>
 */
public final class ModelSpec {

    private final boolean wholeModel;
    private final Map<String, int[]> shapes = new LinkedHashMap<>();
    private final Map<String, String> attributes = new LinkedHashMap<>();

    private ModelSpec(boolean wholeModel) {
        this.wholeModel = wholeModel;
    }

    /** All tensors of the model; checkpoint tensors not named here are refused. */
    public static ModelSpec wholeModel() {
        return new ModelSpec(true);
    }

    /** Some tensors of the model (one stage's); other checkpoint tensors are ignored. */
    public static ModelSpec subset() {
        return new ModelSpec(false);
    }

    public ModelSpec tensor(String name, int... shape) {
        shapes.put(name, shape.clone());
        return this;
    }

    public ModelSpec attribute(String key, String value) {
        attributes.put(key, value);
        return this;
    }

    public boolean isWholeModel() {
        return wholeModel;
    }

    public Map<String, int[]> shapes() {
        return Collections.unmodifiableMap(shapes);
    }

    public Map<String, String> attributes() {
        return Collections.unmodifiableMap(attributes);
    }
}
