package org.twobp.worker.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/**
 * The shape of a LLaMa-like transformer, read from the {@code [model]} table of a TOML file
 * (configs/llama-tiny.toml and friends). Other tables of the file are left to their readers.
 *
 * @param norm {@code rmsnorm} (LLaMa) or {@code layernorm}
 * @param mlp  {@code swiglu} (LLaMa) or {@code gelu}
 */
public record ModelConfig(String name, int dim, int layers, int heads, int kvHeads, int ffnHidden, int vocabSize,
                          int seqLen, double ropeTheta, double normEps, long seed, double initStd, String norm,
                          String mlp) {

    /** Keys of the [model] table, with their meaning, for error messages and documentation. */
    public static final List<String> KEYS = List.of("name", "dim", "n_layers", "n_heads", "n_kv_heads", "ffn_hidden",
            "vocab_size", "seq_len", "rope_theta", "norm_eps", "seed", "init_std", "norm", "mlp");

    private static final Set<String> NORMS = Set.of("rmsnorm", "layernorm");
    private static final Set<String> MLPS = Set.of("swiglu", "gelu");

    public ModelConfig {
        List<String> problems = new ArrayList<>();
        positive(problems, "dim", dim);
        positive(problems, "n_layers", layers);
        positive(problems, "n_heads", heads);
        positive(problems, "n_kv_heads", kvHeads);
        positive(problems, "ffn_hidden", ffnHidden);
        positive(problems, "vocab_size", vocabSize);
        positive(problems, "seq_len", seqLen);
        if (heads > 0 && dim % heads != 0) {
            problems.add("dim " + dim + " is not a multiple of n_heads " + heads);
        } else if (heads > 0 && (dim / heads) % 2 != 0) {
            problems.add("the head width dim/n_heads = " + dim / heads + " must be even for RoPE");
        }
        if (kvHeads > 0 && heads % kvHeads != 0) {
            problems.add("n_heads " + heads + " is not a multiple of n_kv_heads " + kvHeads);
        }
        if (!(ropeTheta > 0)) {
            problems.add("rope_theta must be > 0, got " + ropeTheta);
        }
        if (!(normEps > 0)) {
            problems.add("norm_eps must be > 0, got " + normEps);
        }
        if (!(initStd > 0)) {
            problems.add("init_std must be > 0, got " + initStd);
        }
        if (!NORMS.contains(norm)) {
            problems.add("norm must be one of " + NORMS + ", got \"" + norm + "\"");
        }
        if (!MLPS.contains(mlp)) {
            problems.add("mlp must be one of " + MLPS + ", got \"" + mlp + "\"");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid model config" + (name == null ? "" : " " + name) + ": "
                    + String.join("; ", problems));
        }
    }

    private static void positive(List<String> problems, String key, long v) {
        if (v <= 0) {
            problems.add(key + " must be > 0, got " + v);
        }
    }

    /** Reads the [model] table of a TOML file. */
    public static ModelConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            String why = e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.toString();
            throw new IllegalArgumentException("cannot read model config " + file + ": " + why
                    + " (expected a TOML file such as configs/llama-tiny.toml)", e);
        }
        return parse(text, file.toString());
    }

    /** Parses TOML text whose [model] table describes the model; {@code source} names it in errors. */
    public static ModelConfig parse(String toml, String source) {
        TomlParseResult result = Toml.parse(toml);
        if (result.hasErrors()) {
            throw new IllegalArgumentException("model config " + source + " is not valid TOML: "
                    + result.errors().get(0).toString());
        }
        TomlTable model = result.getTable("model");
        if (model == null) {
            throw new IllegalArgumentException("model config " + source + " has no [model] table; it needs at least "
                    + KEYS);
        }
        return fromTable(model, source);
    }

    static ModelConfig fromTable(TomlTable t, String source) {
        for (String key : t.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("model config " + source + ": unknown key [model]." + key
                        + "; known keys are " + KEYS);
            }
        }
        try {
            return new ModelConfig(
                    string(t, "name", baseName(source)),
                    integer(t, "dim", source, null),
                    integer(t, "n_layers", source, null),
                    integer(t, "n_heads", source, null),
                    integer(t, "n_kv_heads", source, integer(t, "n_heads", source, null)),
                    integer(t, "ffn_hidden", source, null),
                    integer(t, "vocab_size", source, null),
                    integer(t, "seq_len", source, null),
                    number(t, "rope_theta", 10000.0),
                    number(t, "norm_eps", 1e-5),
                    t.contains("seed") ? longValue(t, "seed", source) : 1234L,
                    number(t, "init_std", 0.02),
                    string(t, "norm", "rmsnorm").toLowerCase(Locale.ROOT),
                    string(t, "mlp", "swiglu").toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("invalid model config")) {
                throw new IllegalArgumentException(e.getMessage() + " (in " + source + ")", e);
            }
            throw e;
        }
    }

    private static String baseName(String source) {
        String n = Path.of(source).getFileName().toString();
        return n.endsWith(".toml") ? n.substring(0, n.length() - 5) : n;
    }

    private static String string(TomlTable t, String key, String fallback) {
        Object v = t.get(key);
        return v == null ? fallback : v.toString();
    }

    private static int integer(TomlTable t, String key, String source, Integer fallback) {
        Object v = t.get(key);
        if (v == null) {
            if (fallback != null) {
                return fallback;
            }
            throw new IllegalArgumentException("model config " + source + ": [model]." + key + " is missing");
        }
        if (!(v instanceof Long l) || l > Integer.MAX_VALUE || l < Integer.MIN_VALUE) {
            throw new IllegalArgumentException("model config " + source + ": [model]." + key
                    + " must be an integer, got " + v);
        }
        return (int) (long) l;
    }

    private static long longValue(TomlTable t, String key, String source) {
        Object v = t.get(key);
        if (!(v instanceof Long l)) {
            throw new IllegalArgumentException("model config " + source + ": [model]." + key
                    + " must be an integer, got " + v);
        }
        return l;
    }

    private static double number(TomlTable t, String key, double fallback) {
        Object v = t.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException("[model]." + key + " must be a number, got " + v);
    }

    /** Width of one attention head. */
    public int headDim() {
        return dim / heads;
    }

    /** Width of the key (and of the value) projection: kv heads times head width. */
    public int kvDim() {
        return kvHeads * headDim();
    }

    /** Number of blocks a partitioner can cut between: embedding, the transformer blocks, the head. */
    public int blockCount() {
        return layers + 2;
    }

    public ModelConfig withVocabSize(int v) {
        return new ModelConfig(name, dim, layers, heads, kvHeads, ffnHidden, v, seqLen, ropeTheta, normEps, seed,
                initStd, norm, mlp);
    }

    public ModelConfig withSeqLen(int t) {
        return new ModelConfig(name, dim, layers, heads, kvHeads, ffnHidden, vocabSize, t, ropeTheta, normEps, seed,
                initStd, norm, mlp);
    }

    public ModelConfig withSeed(long s) {
        return new ModelConfig(name, dim, layers, heads, kvHeads, ffnHidden, vocabSize, seqLen, ropeTheta, normEps, s,
                initStd, norm, mlp);
    }

    /** The [model] table as TOML, to save the resolved configuration with a run. */
    public String toToml() {
        return toToml(new org.twobp.worker.train.TomlWriter()).toString();
    }

    /** Appends the [model] table to {@code w}. */
    public org.twobp.worker.train.TomlWriter toToml(org.twobp.worker.train.TomlWriter w) {
        return w.table("model").put("name", name).put("dim", dim).put("n_layers", layers).put("n_heads", heads)
                .put("n_kv_heads", kvHeads).put("ffn_hidden", ffnHidden).put("vocab_size", vocabSize)
                .put("seq_len", seqLen).put("rope_theta", ropeTheta).put("norm_eps", normEps).put("seed", seed)
                .put("init_std", initStd).put("norm", norm).put("mlp", mlp);
    }

    /** One line for logs. */
    public String describe() {
        return String.format(Locale.ROOT, "%s: dim %d, %d layers, %d heads (%d kv), ffn %d (%s), %s, vocab %d,"
                        + " seq %d", name, dim, layers, heads, kvHeads, ffnHidden, mlp, norm, vocabSize, seqLen);
    }
}
