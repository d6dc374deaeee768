package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeResolverTest {

    @TempDir
    Path run;

    @TempDir
    Path empty;

    @BeforeEach
    void checkpoints() {
        List<TensorEntry> model = Fixtures.model(1, 1);
        Fixtures.save(run, 100, model, 2);
        Fixtures.save(run, 200, model, 2);
        Fixtures.saveUncommitted(run, 300, model, 2, 1);
    }

    private static void assertMessage(CheckpointException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
        }
    }

    @Test
    void noneStartsFresh() {
        Resolution r = ResumeResolver.resolve(run, "none");
        assertTrue(r.fresh());
        assertEquals(List.of(), r.skipped());
        assertThrows(CheckpointException.class, r::dir);
    }

    @Test
    void autoTakesTheNewestCompleteOrStartsFresh() {
        Resolution r = ResumeResolver.resolve(run, "auto");
        assertEquals(200, r.step());
        assertEquals(CheckpointPaths.stepDir(run, 200), r.dir());
        assertEquals(1, r.skipped().size());
        assertTrue(r.skipped().get(0).startsWith("step-300"), r.skipped().get(0));
        assertTrue(ResumeResolver.resolve(empty, "auto").fresh());
    }

    @Test
    void latestTakesTheNewestCompleteAndFailsWithoutOne() {
        assertEquals(200, ResumeResolver.resolve(run, "latest").step());
        CheckpointException e = assertThrows(CheckpointException.class, () -> ResumeResolver.resolve(empty, "latest"));
        assertMessage(e, "no complete checkpoint in", "--from none");
    }

    @Test
    void aStepMustBeThereAndComplete() {
        assertEquals(100, ResumeResolver.resolve(run, "100").step());
        assertMessage(assertThrows(CheckpointException.class, () -> ResumeResolver.resolve(run, "300")),
                "step-300", "no manifest.txt", "steps [100, 200]");
        assertMessage(assertThrows(CheckpointException.class, () -> ResumeResolver.resolve(run, "400")),
                "step-400", "does not exist");
    }

    @Test
    void aPathIsAStepFolderOrARunDirectory() {
        assertEquals(100, ResumeResolver.resolve(run, CheckpointPaths.stepDir(run, 100).toString()).step());
        assertEquals(200, ResumeResolver.resolve(run, run.toString()).step());
        assertEquals(200, ResumeResolver.resolve(empty, run.toString()).step());
        String incomplete = CheckpointPaths.stepDir(run, 300).toString();
        assertMessage(assertThrows(CheckpointException.class, () -> ResumeResolver.resolve(run, incomplete)),
                incomplete, "no manifest.txt");
        String missing = run.resolve("nowhere").toString();
        assertMessage(assertThrows(CheckpointException.class, () -> ResumeResolver.resolve(run, missing)),
                missing, "no such step number or path", "use --from auto|latest|<step>|<path>|none");
    }

    @Test
    void staleFoldersAreInvisibleToAutoButCanBeNamedByPath() {
        Fixtures.save(run, 500, Fixtures.model(1, 1), 2);
        Path stale = Fixtures.setAside(run, 500, 1_000);
        assertEquals(200, ResumeResolver.resolve(run, "auto").step());
        assertEquals(200, ResumeResolver.resolve(run, "latest").step());
        assertMessage(assertThrows(CheckpointException.class, () -> ResumeResolver.resolve(run, "500")),
                "step-500", "does not exist");
        Resolution r = ResumeResolver.resolve(run, stale.toString());
        assertEquals(500, r.step());
        assertEquals(stale, r.dir());
    }

    @Test
    void anEmptyOptionIsRefused() {
        assertMessage(assertThrows(CheckpointException.class, () -> ResumeResolver.resolve(run, " ")),
                "empty --from value");
    }
}
