package org.twobp.worker.pipeline;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.train.TrainConfig;

/**
 * A whole run's configuration: the [model], [train], [pipeline] and [checkpoint] tables of one TOML file,
 * with {@code section.key=value} overrides, validated before anything starts.
 */
public record RunConfig(ModelConfig model, TrainConfig train, PipelineConfig pipeline, CheckpointConfig checkpoint) {

    /** The tables of a run config. */
    public static final java.util.List<String> TABLES = java.util.List.of("model", "train", "pipeline", "checkpoint");

    /** Reads {@code file} and applies overrides such as {@code train.steps=20} or {@code pipeline.schedule=gpipe}. */
    public static RunConfig load(Path file, Map<String, String> overrides) {
        ModelConfig model = ModelConfig.load(file);
        org.twobp.worker.train.TomlTables.checkTables(file, TABLES);
        Map<String, Object> train = TrainConfig.readTable(file);
        Map<String, Object> pipe = PipelineConfig.readTable(file);
        Map<String, Object> ckpt = CheckpointConfig.readTable(file);
        Map<String, String> modelOverrides = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String k = e.getKey();
            int dot = k.indexOf('.');
            String section = dot < 0 ? "" : k.substring(0, dot);
            String key = k.substring(dot + 1);
            switch (section) {
                case "train" -> train.put(key, e.getValue());
                case "pipeline" -> pipe.put(key, e.getValue());
                case "checkpoint" -> ckpt.put(key, e.getValue());
                case "model" -> modelOverrides.put(key, e.getValue());
                default -> throw new IllegalArgumentException("override '" + k + "=" + e.getValue()
                        + "' needs a section: model.KEY, train.KEY, pipeline.KEY or checkpoint.KEY");
            }
        }
        for (Map.Entry<String, String> e : modelOverrides.entrySet()) {
            model = switch (e.getKey()) {
                case "seq_len" -> model.withSeqLen(Integer.parseInt(e.getValue()));
                case "vocab_size" -> model.withVocabSize(Integer.parseInt(e.getValue()));
                case "seed" -> model.withSeed(Long.parseLong(e.getValue()));
                default -> throw new IllegalArgumentException("model." + e.getKey() + " cannot be overridden on the"
                        + " command line (only seq_len, vocab_size, seed); edit the config file");
            };
        }
        return new RunConfig(model, TrainConfig.of(train), PipelineConfig.of(pipe), CheckpointConfig.of(ckpt));
    }

    /** The resolved configuration as TOML, saved with the run. */
    public String toToml() {
        org.twobp.worker.train.TomlWriter w = new org.twobp.worker.train.TomlWriter();
        model.toToml(w);
        train.toToml(w);
        pipeline.toToml(w);
        return checkpoint.toToml(w).toString();
    }
}
