package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint saved with P stages loads into P' stages, by tensor name. */
class ReshardTest {

    @TempDir
    Path run;

    @TempDir
    Path other;

    private static void assertAllSame(List<TensorEntry> model, Map<String, TensorEntry> loaded) {
        assertEquals(model.size(), loaded.size());
        for (TensorEntry t : model) {
            Fixtures.assertSameBits(t, loaded.get(t.name()));
        }
    }

    @Test
    void fourStagesLoadIntoTwoByAskingForEachNewStagesNames() {
        List<TensorEntry> model = Fixtures.model(3, 1);           // 14 tensors
        Path dir = Fixtures.save(run, 40, model, 4);
        CheckpointReader r = CheckpointReader.open(dir);
        List<List<TensorEntry>> newStages = Fixtures.cut(model, 2);
        Map<String, TensorEntry> all = new java.util.LinkedHashMap<>();
        for (List<TensorEntry> stage : newStages) {
            Map<String, TensorEntry> mine = r.read(Fixtures.names(stage));
            assertEquals(Fixtures.names(stage), new ArrayList<>(mine.keySet()));
            all.putAll(mine);
        }
        assertAllSame(model, all);
        assertEquals(List.of("blocks.1.attn.wq", "blocks.1.attn.wk", "blocks.1.ln.g", "blocks.1.conv.w"),
                r.namesUnder(List.of("blocks.1")));
    }

    @Test
    void twoStagesConvertToThreeAndToOneWithIdenticalTensors() {
        List<TensorEntry> model = Fixtures.model(2, 2);
        Path src = Fixtures.save(run, 7, model, 2);

        Layout three = Layout.parse("embed,blocks.0|blocks.1.attn|blocks.1,head");
        Manifest m = Converter.convert(src, other, three, CheckpointWriter.DEFAULT_SPLIT_BYTES);
        assertEquals(3, m.stages());
        Path dst = CheckpointPaths.stepDir(other, 7);
        assertEquals(List.of("manifest.txt", "stage-0-of-3.h5", "stage-1-of-3.h5", "stage-2-of-3.h5"),
                Fixtures.listing(dst));
        Map<String, Manifest.TensorRecord> index = m.byName();
        assertEquals("stage-1-of-3.h5", index.get("blocks.1.attn.wk").file());   // the longer layer wins
        assertEquals("stage-2-of-3.h5", index.get("blocks.1.ln.g").file());
        assertEquals("stage-2-of-3.h5", index.get("head.scale").file());
        assertTrue(Verifier.verify(dst).ok());
        CheckpointReader r = CheckpointReader.open(dst);
        assertAllSame(model, r.read(Fixtures.names(model)));
        assertEquals(Fixtures.state(7, 0), r.state(2));

        Path one = other.resolve("one");
        Converter.convert(dst, one, Layout.balanced(r.tensors(), 1), 64);
        assertAllSame(model, CheckpointReader.open(CheckpointPaths.stepDir(one, 7)).read(Fixtures.names(model)));
    }

    @Test
    void balancedLayoutsKeepLayersTogetherAndCoverEverything() {
        List<TensorEntry> model = Fixtures.model(4, 3);
        List<TensorInfo> infos = model.stream().map(TensorEntry::info).toList();
        Layout l = Layout.balanced(infos, 3);
        assertEquals(3, l.stages());
        List<List<String>> assigned = l.assign(Fixtures.names(model));
        assertEquals(model.size(), assigned.stream().mapToInt(List::size).sum());
        for (int b = 0; b < 4; b++) {
            assertEquals(l.stageOf("blocks." + b + ".attn.wq"), l.stageOf("blocks." + b + ".attn.wk"));
        }
        int last = -1;
        for (String n : Fixtures.names(model)) {
            assertTrue(l.stageOf(n) >= last, "stages must be consecutive runs: " + l);
            last = l.stageOf(n);
        }
        assertMessage(assertThrows(CheckpointException.class, () -> Layout.balanced(infos, 100)), "cannot cut");
    }

    @Test
    void badLayoutsSayWhatIsWrong() {
        List<String> names = Fixtures.names(Fixtures.model(1, 4));
        assertMessage(assertThrows(CheckpointException.class, () -> Layout.parse("embed|blocks|head|blocks.0.conv.x")
                .assign(names)), "layer blocks.0.conv.x", "covers no tensor");
        assertMessage(assertThrows(CheckpointException.class, () -> Layout.parse("embed||blocks,head")), "stage 1",
                "no layers");
        assertMessage(assertThrows(CheckpointException.class, () -> Layout.parse("embed,head|embed,blocks")),
                "layer embed is given to two stages");
        assertMessage(assertThrows(CheckpointException.class, () -> Layout.parse("embed,blocks.0.ln|blocks.0")
                .assign(List.of("embed.wte", "blocks.0.ln.g"))), "stage 1", "gets no tensor");
        CheckpointException noLayer = assertThrows(CheckpointException.class,
                () -> Layout.parse("embed|head").assign(names));
        assertMessage(noLayer, "gives no stage to 4 tensor(s)", "blocks.0.attn.wq");
    }

    @Test
    void convertingOntoItselfOrOntoACommittedStepIsRefused() {
        List<TensorEntry> model = Fixtures.model(1, 5);
        Path src = Fixtures.save(run, 3, model, 2);
        assertMessage(assertThrows(CheckpointException.class,
                () -> Converter.convert(src, run, Layout.balanced(CheckpointReader.open(src).tensors(), 1), 1 << 20)),
                "onto itself");
        Converter.convert(src, other, Layout.balanced(CheckpointReader.open(src).tensors(), 1), 1 << 20);
        assertMessage(assertThrows(CheckpointException.class,
                () -> Converter.convert(src, other, Layout.balanced(CheckpointReader.open(src).tensors(), 2), 1 << 20)),
                "already a complete checkpoint");
    }

    private static void assertMessage(CheckpointException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
        }
    }
}
