package org.twobp.checkpoints;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a complete checkpoint into any stage layout. The manifest says which stage file holds
 * each tensor, so a new stage asks for its own tensor names and only the files holding them
 * are opened:
 * <pre>
 *   CheckpointReader ckpt = CheckpointReader.open(resolution.dir());
 *   ckpt.requireCompatible(spec);                                   // refuses a different model, saying what differs
 *   Map&lt;String, TensorEntry&gt; mine = ckpt.read(myStage.tensorNames());
 *   TrainingState state = ckpt.state();
 * </pre>
 * Every array read is checked against its stored and its manifest checksum. The reader holds no
 * open files between calls.
 */
public final class CheckpointReader {

    private final Path dir;
    private final Manifest manifest;
    private final Map<String, Manifest.TensorRecord> index;

    private CheckpointReader(Path dir, Manifest manifest) {
        this.dir = dir;
        this.manifest = manifest;
        this.index = manifest.byName();
    }

    /** Opens a committed step folder; fails if it has no intact manifest. */
    public static CheckpointReader open(Path stepDir) {
        return new CheckpointReader(stepDir, Manifest.read(stepDir));
    }

    public Path dir() {
        return dir;
    }

    public long step() {
        return manifest.step();
    }

    /** The stage count it was saved with. */
    public int stages() {
        return manifest.stages();
    }

    public Manifest manifest() {
        return manifest;
    }

    /** Every tensor, in the order the stages saved them (stage 0 first). */
    public List<TensorInfo> tensors() {
        return manifest.tensorInfos();
    }

    public boolean contains(String name) {
        return index.containsKey(name);
    }

    /**
     * The names of the tensors of the given layers, in checkpoint order: a layer {@code blocks.3}
     * covers {@code blocks.3} itself and every tensor named {@code blocks.3.*}.
     */
    public List<String> namesUnder(Collection<String> layers) {
        List<String> out = new ArrayList<>();
        for (String name : index.keySet()) {
            for (String layer : layers) {
                if (Layout.covers(layer, name)) {
                    out.add(name);
                    break;
                }
            }
        }
        return out;
    }

    /** The training state saved by stage 0 (step, schedule, config, model attributes, ...). */
    public TrainingState state() {
        return state(0);
    }

    /** The training state saved by one stage (its own RNG states and data position). */
    public TrainingState state(int stage) {
        if (stage < 0 || stage >= manifest.stages()) {
            throw new CheckpointException("checkpoint " + dir + " has stages 0.." + (manifest.stages() - 1)
                    + ", not " + stage);
        }
        try (StageFileReader r = StageFileReader.open(dir.resolve(manifest.files().get(stage).name()))) {
            return r.state();
        }
    }

    /** Refuses a checkpoint that does not fit {@code spec}, listing every difference. */
    public void requireCompatible(ModelSpec spec) {
        List<String> diffs = Compatibility.differences(manifest, state().model(), spec);
        if (!diffs.isEmpty()) {
            throw new CheckpointException("checkpoint " + dir + " (step " + step() + ") does not fit this model:\n  "
                    + String.join("\n  ", diffs)
                    + "\nResume from a checkpoint of the same model, or start fresh with --from none.");
        }
    }

    /** The listed tensors with all their arrays, in the order asked. */
    public Map<String, TensorEntry> read(Collection<String> names) {
        List<String> missing = new ArrayList<>();
        Map<String, List<String>> byFile = new LinkedHashMap<>();
        for (String n : names) {
            Manifest.TensorRecord r = index.get(n);
            if (r == null) {
                missing.add(n);
            } else {
                byFile.computeIfAbsent(r.file(), f -> new ArrayList<>()).add(n);
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException("checkpoint " + dir + " has no tensor " + String.join(", ", missing)
                    + "; it holds " + index.size() + " tensors (list them with 'twobp ckpt ls'); was it saved by "
                    + "another model?");
        }
        Map<String, TensorEntry> loaded = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> e : byFile.entrySet()) {
            try (StageFileReader r = StageFileReader.open(dir.resolve(e.getKey()))) {
                for (String n : e.getValue()) {
                    checkAgainstManifest(r, index.get(n));
                    loaded.put(n, r.readTensor(n));
                }
            }
        }
        Map<String, TensorEntry> ordered = new LinkedHashMap<>();
        for (String n : names) {
            ordered.put(n, loaded.get(n));
        }
        return ordered;
    }

    /** One tensor with all its arrays. */
    public TensorEntry read(String name) {
        return read(List.of(name)).get(name);
    }

    /** The file's own description of a tensor must be what the manifest recorded at commit. */
    private static void checkAgainstManifest(StageFileReader r, Manifest.TensorRecord rec) {
        TensorInfo info = r.info(rec.name());
        if (!info.equals(rec.info())) {
            throw new CheckpointException("tensor " + rec.name() + " in " + r.file() + " is " + info
                    + " but the manifest recorded " + rec.info() + ": the file was replaced after the checkpoint "
                    + "was committed; resume from another checkpoint");
        }
        for (Map.Entry<String, Long> e : rec.crcs().entrySet()) {
            long stored = r.storedCrc(rec.name(), e.getKey());
            if (stored != e.getValue()) {
                throw new CheckpointException("tensor " + rec.name() + " array " + e.getKey() + " in " + r.file()
                        + " carries CRC-32 " + Checksums.hex(stored) + " but the manifest recorded "
                        + Checksums.hex(e.getValue()) + ": the file was replaced after the checkpoint was committed; "
                        + "resume from another checkpoint");
            }
        }
    }
}
