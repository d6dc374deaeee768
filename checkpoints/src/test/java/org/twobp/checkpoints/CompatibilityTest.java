package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompatibilityTest {

    @TempDir
    Path run;

    CheckpointReader ckpt;

    @BeforeEach
    void save() {
        ckpt = CheckpointReader.open(Fixtures.save(run, 1, Fixtures.model(2, 1), 2));
    }

    /** The spec of the saved model itself. */
    private static ModelSpec sameModel() {
        ModelSpec spec = ModelSpec.wholeModel().attribute("vocab_size", "16").attribute("d_model", "8");
        for (Map.Entry<String, int[]> e : Fixtures.shapes(2)) {
            spec.tensor(e.getKey(), e.getValue());
        }
        return spec;
    }

    @Test
    void theSameModelFits() {
        ckpt.requireCompatible(sameModel());
        ckpt.requireCompatible(ModelSpec.subset().tensor("blocks.1.ln.g", 8).attribute("vocab_size", "16")
                .attribute("d_model", "8"));
    }

    @Test
    void everyDifferenceIsNamed() {
        ModelSpec other = ModelSpec.wholeModel().attribute("vocab_size", "32").attribute("d_model", "8");
        for (Map.Entry<String, int[]> e : Fixtures.shapes(3)) {               // one block more
            if (!e.getKey().equals("blocks.0.ln.g")) {                         // and one tensor fewer
                other.tensor(e.getKey(), e.getKey().equals("embed.wte") ? new int[] {32, 8} : e.getValue());
            }
        }
        String msg = assertThrows(CheckpointException.class, () -> ckpt.requireCompatible(other)).getMessage();
        for (String part : List.of("does not fit this model",
                "model attributes differ (1): vocab_size: checkpoint 16, model 32",
                "missing in the checkpoint (4): blocks.2.attn.wq, blocks.2.attn.wk, blocks.2.ln.g, blocks.2.conv.w",
                "in the checkpoint but not in this model (1): blocks.0.ln.g",
                "shapes differ (1): embed.wte: checkpoint [16,8], model [32,8]",
                "--from none")) {
            assertTrue(msg.contains(part), "'" + part + "' missing from:\n" + msg);
        }
    }

    @Test
    void aStageSpecIgnoresOtherTensorsButNotMissingOnesOrAttributes() {
        String msg = assertThrows(CheckpointException.class, () -> ckpt.requireCompatible(ModelSpec.subset()
                .tensor("blocks.9.attn.wq", 8, 8).attribute("vocab_size", "16"))).getMessage();
        assertTrue(msg.contains("missing in the checkpoint (1): blocks.9.attn.wq"), msg);
        assertTrue(msg.contains("d_model: checkpoint 8, model (not given)"), msg);
        assertTrue(!msg.contains("not in this model"), msg);
    }

    @Test
    void readingATensorTheCheckpointLacksNamesIt() {
        String msg = assertThrows(CheckpointException.class, () -> ckpt.read(List.of("embed.wte", "blocks.7.ln.g")))
                .getMessage();
        assertTrue(msg.contains("has no tensor blocks.7.ln.g"), msg);
    }
}
