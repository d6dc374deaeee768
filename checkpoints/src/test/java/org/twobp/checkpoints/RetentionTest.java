package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetentionTest {

    @TempDir
    Path run;

    private List<Long> steps() {
        return CheckpointScan.list(run, Check.MANIFEST).stream().map(CheckpointInfo::step).toList();
    }

    @Test
    void keepLastBelowTwoIsRefused() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> new Retention(1, 0));
        assertTrue(e.getMessage().contains("keep-last must be at least 2, got 1"), e.getMessage());
        assertThrows(CheckpointException.class, () -> new Retention(3, -5));
    }

    @Test
    void keepsTheLastKAndEveryNthAndCleansOlderIncompleteFolders() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 1);
        for (long s = 10; s <= 100; s += 10) {
            Fixtures.save(run, s, model, 2);
        }
        Fixtures.saveUncommitted(run, 55, model, 2, 1);      // older and incomplete: purged
        Fixtures.saveUncommitted(run, 110, model, 2, 1);     // newer and incomplete (being written): kept
        Files.createDirectories(CheckpointPaths.checkpointsDir(run).resolve(".purging-step-5"));

        List<Path> purged = new Retention(3, 40).apply(run);
        assertEquals(List.of(40L, 80L, 90L, 100L, 110L), steps());
        assertEquals(7, purged.size());
        assertTrue(purged.contains(CheckpointPaths.stepDir(run, 55)));
        assertEquals(List.of("step-100", "step-110", "step-40", "step-80", "step-90"),
                Fixtures.listing(CheckpointPaths.checkpointsDir(run)));
        assertTrue(Verifier.verify(CheckpointPaths.stepDir(run, 40)).ok());
    }

    @Test
    void nothingIsPurgedBeforeTheNewerCheckpointIsCommitted() {
        List<TensorEntry> model = Fixtures.model(1, 2);
        Retention keep2 = new Retention(2, 0);
        Fixtures.save(run, 10, model, 2);
        Fixtures.save(run, 20, model, 2);
        Fixtures.saveUncommitted(run, 30, model, 2, 2);      // all stages written, not yet committed
        assertEquals(List.of(), keep2.apply(run));
        assertEquals(List.of(10L, 20L, 30L), steps());

        new CheckpointWriter(run).commit(30, 2);
        assertEquals(List.of(CheckpointPaths.stepDir(run, 10)), keep2.apply(run));
        assertEquals(List.of(20L, 30L), steps());
    }

    @Test
    void aDamagedCheckpointDoesNotCountTowardsTheKept() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 3);
        Fixtures.save(run, 10, model, 1);
        Fixtures.save(run, 20, model, 1);
        Path damaged = Fixtures.save(run, 30, model, 1);
        Fixtures.save(run, 40, model, 1);
        try (var f = new java.io.RandomAccessFile(damaged.resolve("stage-0-of-1.h5").toFile(), "rw")) {
            f.setLength(100);
        }
        new Retention(2, 0).apply(run);
        assertEquals(List.of(20L, 40L), steps());
    }

    @Test
    void planOnlyLooksAtWhatItIsGiven() {
        List<CheckpointInfo> found = new ArrayList<>();
        for (long s : new long[] {1, 2, 3, 4}) {
            found.add(new CheckpointInfo(s, run.resolve("step-" + s), s != 4, 1, 0, s == 4 ? "no manifest" : null));
        }
        List<Long> purge = new Retention(2, 0).toPurge(found).stream().map(CheckpointInfo::step).toList();
        assertEquals(List.of(1L), purge);
        assertEquals(List.of(), new Retention(2, 0).toPurge(List.of(found.get(3))));
    }
}
