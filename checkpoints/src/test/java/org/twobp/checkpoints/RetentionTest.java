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

    private List<String> staleFolders() {
        return CheckpointScan.listStale(run, Check.MANIFEST).stream().map(c -> c.dir().getFileName().toString()).toList();
    }

    @Test
    void aStaleFolderIsPurgedOnceKeepLastCheckpointsHaveReachedItsStep() {
        List<TensorEntry> model = Fixtures.model(1, 4);
        Retention keep2 = new Retention(2, 20);
        Fixtures.save(run, 10, model, 1);
        Fixtures.save(run, 20, model, 1);
        Fixtures.save(run, 30, model, 1);
        Fixtures.saveUncommitted(run, 40, model, 1, 1);
        Fixtures.setAside(run, 30, 1_000);                 // resumed from 20: step 30 was complete but not chosen
        Fixtures.setAside(run, 40, 1_000);                 // ... and step 40 a save cut short
        Fixtures.save(run, 25, model, 1);
        Fixtures.saveUncommitted(run, 27, model, 1, 1);
        Fixtures.setAside(run, 27, 2_000);                 // resumed from 25 after a crash while saving 27
        Fixtures.save(run, 1_000, model, 1);
        Fixtures.setAside(run, 1_000, 3_000);              // far ahead of the current history
        assertEquals(List.of("stale-step-27-2000", "stale-step-30-1000", "stale-step-40-1000", "stale-step-1000-3000"),
                staleFolders());

        // newest two: 25 and 20; neither has reached any stale step, and no stale folder counts as a checkpoint
        keep2.apply(run);
        assertEquals(List.of(20L, 25L), steps());
        assertEquals(4, staleFolders().size());

        Fixtures.save(run, 30, model, 1);                  // newest two: 30, 25; only 30 is at or past 27
        keep2.apply(run);
        assertEquals(4, staleFolders().size(), String.valueOf(staleFolders()));
        assertEquals(List.of(20L, 25L, 30L), steps(), "20 is a milestone (keep_every 20)");

        Fixtures.save(run, 40, model, 1);                  // newest two: 40, 30 -> stale 27 and 30 are passed
        keep2.apply(run);
        assertEquals(List.of("stale-step-40-1000", "stale-step-1000-3000"), staleFolders());
        assertEquals(List.of(20L, 30L, 40L), steps());

        Fixtures.save(run, 50, model, 1);                  // stale 40 is never a milestone, unlike step-40
        keep2.apply(run);
        assertEquals(List.of("stale-step-1000-3000"), staleFolders(), "newer than every checkpoint: kept");
        assertEquals(List.of(20L, 40L, 50L), steps());
    }

    @Test
    void theStaleFolderARunWasResumedFromSurvivesUntilKeepLastCheckpointsFollowIt() {
        List<TensorEntry> model = Fixtures.model(1, 5);
        Retention keep3 = new Retention(3, 0);
        Fixtures.save(run, 5, model, 1);
        Fixtures.save(run, 10, model, 1);
        Path source = Fixtures.setAside(run, 10, 1_000);   // the run was resumed by path from stale-step-10-1000
        Fixtures.save(run, 15, model, 1);
        keep3.apply(run);
        assertTrue(Files.isDirectory(source), "fewer than three checkpoints at all");
        Fixtures.save(run, 20, model, 1);
        keep3.apply(run);
        assertTrue(Files.isDirectory(source), "only 15 and 20 followed it");
        assertEquals(List.of(5L, 15L, 20L), steps());
        Fixtures.save(run, 25, model, 1);
        assertTrue(keep3.apply(run).contains(source), "15, 20, 25 followed it");
        assertEquals(List.of(), staleFolders());
        assertEquals(List.of(15L, 20L, 25L), steps());
    }

    @Test
    void repeatedCrashesAndResumesLeaveABoundedNumberOfStaleFolders() {
        // every attempt: resume from the newest checkpoint, set the cut-short save aside, save two, crash mid-save
        List<TensorEntry> model = Fixtures.model(1, 6);
        Retention keep2 = new Retention(2, 0);
        Fixtures.save(run, 10, model, 1);
        long step = 10;
        int mostStale = 0;
        for (int kill = 1; kill <= 25; kill++) {
            Fixtures.saveUncommitted(run, step + 10, model, 1, 1);
            Fixtures.setAside(run, step + 10, kill);
            for (int i = 0; i < 2; i++) {
                step += 10;
                Fixtures.save(run, step, model, 1);
                keep2.apply(run);
                mostStale = Math.max(mostStale, staleFolders().size());
            }
        }
        assertEquals(1, mostStale, "stale folders after each save: " + staleFolders());
        assertEquals(List.of(step - 10, step), steps());
    }

    @Test
    void staleFoldersNeverCountAsCheckpointsInThePlan() {
        List<CheckpointInfo> found = new ArrayList<>();
        for (long s : new long[] {10, 20}) {
            found.add(new CheckpointInfo(s, run.resolve("step-" + s), true, 1, 0, null));
        }
        for (long s : new long[] {10, 15, 30}) {
            found.add(new CheckpointInfo(s, run.resolve("stale-step-" + s + "-1"), true, 1, 0, null, true));
        }
        assertEquals(List.of(run.resolve("stale-step-10-1")),
                new Retention(2, 0).toPurge(found).stream().map(CheckpointInfo::dir).toList());
        assertEquals(List.of(), new Retention(3, 0).toPurge(found), "fewer than keep_last checkpoints: nothing is passed");
        assertEquals(List.of(), new Retention(2, 0).toPurge(found.subList(2, 5)), "no checkpoint: nothing goes");
    }
}
