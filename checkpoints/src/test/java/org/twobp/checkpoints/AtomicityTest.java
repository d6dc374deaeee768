package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicityTest {

    @TempDir
    Path run;

    /** Hands out tensors and throws after {@code okCount} of them, like a device copy failing mid-save. */
    private static Iterable<TensorEntry> failingAfter(List<TensorEntry> tensors, int okCount, RuntimeException failure) {
        return () -> new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
                return i < tensors.size();
            }

            @Override
            public TensorEntry next() {
                if (i == okCount) {
                    throw failure;
                }
                return tensors.get(i++);
            }
        };
    }

    private static Map<String, byte[]> snapshot(Path dir) throws Exception {
        Map<String, byte[]> m = new TreeMap<>();
        for (String n : Fixtures.listing(dir)) {
            m.put(n, Files.readAllBytes(dir.resolve(n)));
        }
        return m;
    }

    @Test
    void aWriteThatThrowsHalfwayLeavesNoFinalFileAndTheOlderCheckpointIntact() throws Exception {
        List<TensorEntry> model = Fixtures.model(2, 1);
        Path older = Fixtures.save(run, 10, model, 1);
        Map<String, byte[]> before = snapshot(older);

        RuntimeException boom = new IllegalStateException("device copy failed");
        CheckpointException e = assertThrows(CheckpointException.class, () -> new CheckpointWriter(run)
                .writeStage(0, 1, Fixtures.state(20, 0), failingAfter(model, 4, boom)));
        assertSame(boom, e.getCause());
        assertTrue(e.getMessage().contains("saving stage 0 of step 20 failed") && e.getMessage().contains("device copy failed")
                && e.getMessage().contains("earlier checkpoints are untouched"), e.getMessage());

        Path step20 = CheckpointPaths.stepDir(run, 20);
        assertEquals(List.of(), Fixtures.listing(step20), "neither the final file nor the temporary file may remain");
        Map<String, byte[]> after = snapshot(older);
        assertEquals(before.keySet(), after.keySet());
        for (String n : before.keySet()) {
            assertArrayEquals(before.get(n), after.get(n), n + " of the older checkpoint changed");
        }
        assertTrue(Verifier.verify(older).ok());
        Resolution res = ResumeResolver.resolve(run, "auto");
        assertEquals(10, res.step());
    }

    @Test
    void aFailedRewriteOfAnUncommittedStepKeepsTheEarlierAttemptsFileUntilTheNewOneIsComplete() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 2);
        Path step = Fixtures.saveUncommitted(run, 30, model, 1, 1);
        byte[] earlier = Files.readAllBytes(step.resolve("stage-0-of-1.h5"));
        assertThrows(CheckpointException.class, () -> new CheckpointWriter(run)
                .writeStage(0, 1, Fixtures.state(30, 0), failingAfter(model, 2, new RuntimeException("x"))));
        assertArrayEquals(earlier, Files.readAllBytes(step.resolve("stage-0-of-1.h5")));
        assertEquals(List.of("stage-0-of-1.h5"), Fixtures.listing(step));
    }

    @Test
    void aCommittedStepIsNeverOverwritten() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 3);
        Path dir = Fixtures.save(run, 40, model, 2);
        Map<String, byte[]> before = snapshot(dir);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> new CheckpointWriter(run).writeStage(0, 2, Fixtures.state(40, 0), model));
        assertTrue(e.getMessage().contains("already a complete checkpoint"), e.getMessage());
        Map<String, byte[]> after = snapshot(dir);
        for (String n : before.keySet()) {
            assertArrayEquals(before.get(n), after.get(n));
        }
    }

    @Test
    void commitRefusesMissingStagesAndNamesThem() {
        List<TensorEntry> model = Fixtures.model(2, 4);
        Fixtures.saveUncommitted(run, 50, model, 4, 2);
        CheckpointException e = assertThrows(CheckpointException.class, () -> new CheckpointWriter(run).commit(50, 4));
        assertTrue(e.getMessage().contains("[stage-2-of-4.h5, stage-3-of-4.h5]")
                && e.getMessage().contains("barrier"), e.getMessage());
        assertFalse(Files.exists(CheckpointPaths.stepDir(run, 50).resolve(CheckpointPaths.MANIFEST)));
    }

    @Test
    void commitRefusesAStageFileOfAnotherStepAndATensorInTwoStages() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 5);
        Path dir = Fixtures.saveUncommitted(run, 60, model, 1, 1);
        Files.createDirectories(CheckpointPaths.stepDir(run, 61));
        Files.copy(dir.resolve("stage-0-of-1.h5"), CheckpointPaths.stepDir(run, 61).resolve("stage-0-of-1.h5"));
        CheckpointException wrongStep = assertThrows(CheckpointException.class,
                () -> new CheckpointWriter(run).commit(61, 1));
        assertTrue(wrongStep.getMessage().contains("says step 60"), wrongStep.getMessage());

        CheckpointWriter w = new CheckpointWriter(run);
        w.writeStage(0, 2, Fixtures.state(70, 0), model.subList(0, 2));
        w.writeStage(1, 2, Fixtures.state(70, 1), model.subList(1, 3));
        CheckpointException twice = assertThrows(CheckpointException.class, () -> w.commit(70, 2));
        assertTrue(twice.getMessage().contains("tensor blocks.0.attn.wq is in both stage-0-of-2.h5 and stage-1-of-2.h5"),
                twice.getMessage());
    }

    @Test
    void commitRemovesLeftoversOfInterruptedAttemptsAndIsIdempotent() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 6);
        Path dir = Fixtures.saveUncommitted(run, 80, model, 4, 3);      // an attempt with 4 stages died
        Files.writeString(dir.resolve("stage-0-of-2.h5.tmp-123-abc"), "partial");
        CheckpointWriter w = new CheckpointWriter(run);
        w.writeStage(0, 2, Fixtures.state(80, 0), model.subList(0, 3));
        w.writeStage(1, 2, Fixtures.state(80, 1), model.subList(3, model.size()));
        Manifest m = w.commit(80, 2);
        assertEquals(List.of("manifest.txt", "stage-0-of-2.h5", "stage-1-of-2.h5"), Fixtures.listing(dir));
        assertEquals(m, w.commit(80, 2));
        List<String> names = new ArrayList<>(Fixtures.names(model));
        assertEquals(names, m.tensors().stream().map(Manifest.TensorRecord::name).toList());
    }
}
