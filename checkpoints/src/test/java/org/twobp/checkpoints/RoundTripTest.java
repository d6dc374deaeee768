package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jhdf.HdfFile;
import io.jhdf.api.Group;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoundTripTest {

    @TempDir
    Path run;

    @Test
    void tensorsAndStateComeBackBitForBit() {
        List<TensorEntry> model = Fixtures.model(2, 7);
        Path dir = Fixtures.save(run, 500, model, 2);

        CheckpointReader r = CheckpointReader.open(dir);
        assertEquals(500, r.step());
        assertEquals(2, r.stages());
        assertEquals(Fixtures.names(model), r.tensors().stream().map(TensorInfo::name).toList());
        Map<String, TensorEntry> loaded = r.read(Fixtures.names(model));
        for (TensorEntry t : model) {
            Fixtures.assertSameBits(t, loaded.get(t.name()));
            assertEquals(List.of("value", "adam.m", "adam.v"), loaded.get(t.name()).arrayNames());
        }
        assertEquals(Fixtures.state(500, 0), r.state());
        assertEquals(Fixtures.state(500, 1), r.state(1));
        assertArrayEquals(new long[] {0x9e3779b97f4a7c15L, -1L, 1}, r.state(1).rng("dropout"));
        assertEquals(3e-4, r.state().lr("lr"));
        assertEquals(List.of("manifest.txt", "stage-0-of-2.h5", "stage-1-of-2.h5"), Fixtures.listing(dir));
    }

    @Test
    void copyToPutsValuesBackIntoAnEngineBlock() {
        List<TensorEntry> model = Fixtures.model(1, 3);
        Path dir = Fixtures.save(run, 1, model, 1);
        TensorEntry wq = CheckpointReader.open(dir).read("blocks.0.attn.wq");
        float[] block = new float[100];
        wq.array("adam.v").copyTo(block, 10);
        FloatSlice original = model.get(1).array("adam.v");
        assertTrue(new FloatSlice(block, 10, 64).sameBits(original));
    }

    @Test
    void tensorsOverTheSplitSizeAreStoredInPartsAndJoinedOnLoad() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 11);
        // embed.wte [16, 8] is 512 bytes: 64-byte parts hold 2 rows each; ln.g [8] (32 bytes) stays whole
        CheckpointWriter w = new CheckpointWriter(run, 64);
        Path file = w.writeStage(0, 1, Fixtures.state(3, 0), model);
        w.commit(3, 1);

        try (HdfFile h = new HdfFile(file)) {
            Group wte = (Group) h.getByPath("tensors/embed.wte/value");
            assertEquals(8, ((Number) wte.getAttribute("parts").getData()).intValue());
            assertArrayEquals(new long[] {2, 2, 2, 2, 2, 2, 2, 2}, (long[]) wte.getAttribute("rows").getData());
            assertEquals(List.of(2, 8), List.of(h.getDatasetByPath("tensors/embed.wte/value/part-007").getDimensions()[0],
                    h.getDatasetByPath("tensors/embed.wte/value/part-007").getDimensions()[1]));
            assertTrue(!h.getByPath("tensors/blocks.0.ln.g/value").isGroup());
        }
        Map<String, TensorEntry> loaded = CheckpointReader.open(CheckpointPaths.stepDir(run, 3))
                .read(Fixtures.names(model));
        for (TensorEntry t : model) {
            Fixtures.assertSameBits(t, loaded.get(t.name()));
        }
        assertTrue(Verifier.verify(CheckpointPaths.stepDir(run, 3)).ok());
    }

    @Test
    void aRowLargerThanTheSplitSizeBecomesOnePartPerRow() {
        float[] data = new float[3 * 10];
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.5f;
        }
        TensorEntry t = TensorEntry.of("w", new int[] {3, 10}, FloatSlice.of(data));
        CheckpointWriter w = new CheckpointWriter(run, 16);
        w.writeStage(0, 1, TrainingState.at(1), List.of(t));
        w.commit(1, 1);
        Fixtures.assertSameBits(t, CheckpointReader.open(CheckpointPaths.stepDir(run, 1)).read("w"));
    }

    @Test
    void badNamesShapesAndStagesAreRefusedWithTheReason() {
        float[] a = new float[4];
        CheckpointException slash = assertThrows(CheckpointException.class,
                () -> TensorEntry.of("blocks/0", new int[] {4}, FloatSlice.of(a)));
        assertTrue(slash.getMessage().contains("'blocks/0'") && slash.getMessage().contains("no '/'"),
                slash.getMessage());
        CheckpointException shape = assertThrows(CheckpointException.class,
                () -> TensorEntry.of("w", new int[] {2, 3}, FloatSlice.of(a)));
        assertTrue(shape.getMessage().contains("holds 4 floats but the shape [2,3] needs 6"), shape.getMessage());
        CheckpointException empty = assertThrows(CheckpointException.class,
                () -> TensorEntry.of("w", new int[] {0, 3}, FloatSlice.of(new float[0])));
        assertTrue(empty.getMessage().contains("no elements"), empty.getMessage());
        CheckpointException stage = assertThrows(CheckpointException.class,
                () -> new CheckpointWriter(run).writeStage(2, 2, TrainingState.at(1), List.of()));
        assertTrue(stage.getMessage().contains("stage 2 of 2 does not exist"), stage.getMessage());
        TensorEntry t = TensorEntry.of("w", new int[] {4}, FloatSlice.of(a));
        CheckpointException twice = assertThrows(CheckpointException.class,
                () -> new CheckpointWriter(run).writeStage(0, 1, TrainingState.at(1), List.of(t, t)));
        assertTrue(twice.getMessage().contains("tensor w is given twice"), twice.getMessage());
    }

    @Test
    void aStageWithoutTensorsAndAnEmptyStateRoundTrip() {
        CheckpointWriter w = new CheckpointWriter(run);
        w.writeStage(0, 1, TrainingState.at(0), List.of());
        Manifest m = w.commit(0, 1);
        assertEquals(0, m.tensors().size());
        CheckpointReader r = CheckpointReader.open(CheckpointPaths.stepDir(run, 0));
        assertEquals(TrainingState.at(0), r.state());
        assertEquals(0, r.read(List.of()).size());
    }
}
