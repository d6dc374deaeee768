package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A step folder without its manifest does not exist for resume; damaged ones are skipped with the reason. */
class DiscoveryTest {

    @TempDir
    Path run;

    @Test
    void aFolderWithoutManifestIsIncompleteAndSkippedWithItsReason() {
        List<TensorEntry> model = Fixtures.model(1, 1);
        Fixtures.save(run, 100, model, 2);
        Fixtures.saveUncommitted(run, 200, model, 2, 2);     // every stage wrote, rank 0 died before commit
        Fixtures.saveUncommitted(run, 300, model, 2, 1);     // one stage wrote

        List<CheckpointInfo> found = CheckpointScan.list(run, Check.QUICK);
        assertEquals(List.of(100L, 200L, 300L), found.stream().map(CheckpointInfo::step).toList());
        assertTrue(found.get(0).complete());
        assertFalse(found.get(1).complete());
        assertTrue(found.get(1).problem().contains("no manifest.txt"), found.get(1).problem());
        assertTrue(found.get(2).problem().contains("stage files present: stage-0-of-2.h5"), found.get(2).problem());
        assertEquals(2, found.get(2).stages());

        Resolution r = ResumeResolver.resolve(run, "auto");
        assertEquals(100, r.step());
        assertEquals(2, r.skipped().size());
        assertTrue(r.skipped().get(0).startsWith("step-300") && r.skipped().get(0).contains("no manifest.txt"),
                r.skipped().get(0));
        assertTrue(r.skipped().get(1).startsWith("step-200"), r.skipped().get(1));
    }

    @Test
    void aDamagedOrRenamedManifestIsNotACheckpoint() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 2);
        Fixtures.save(run, 1, model, 1);
        Path two = Fixtures.save(run, 2, model, 1);
        Path manifest = two.resolve(CheckpointPaths.MANIFEST);
        Files.writeString(manifest, Files.readString(manifest).replace("stages\t1", "stages\t2"));
        CheckpointInfo c = CheckpointScan.inspect(two, Check.MANIFEST);
        assertFalse(c.complete());
        assertTrue(c.problem().contains("checksum does not match"), c.problem());

        Path three = Fixtures.save(run, 3, model, 1);
        Path manifest3 = three.resolve(CheckpointPaths.MANIFEST);
        String text = Files.readString(manifest3);
        Files.writeString(manifest3, text.substring(0, text.length() / 2));
        assertTrue(CheckpointScan.inspect(three, Check.MANIFEST).problem().contains("truncated"));

        Files.move(three, CheckpointPaths.stepDir(run, 4));
        Files.move(two, CheckpointPaths.stepDir(run, 5));
        Files.copy(CheckpointPaths.stepDir(run, 1).resolve(CheckpointPaths.MANIFEST),
                CheckpointPaths.stepDir(run, 5).resolve(CheckpointPaths.MANIFEST),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertTrue(CheckpointScan.inspect(CheckpointPaths.stepDir(run, 5), Check.QUICK).problem()
                .contains("manifest says step 1, the folder name says 5"));

        Resolution r = ResumeResolver.resolve(run, "latest");
        assertEquals(1, r.step());
        assertEquals(2, r.skipped().size());
    }

    @Test
    void manifestRecordsFilesSizesAndPerArrayChecksums() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 3);
        Path dir = Fixtures.save(run, 9, model, 2);
        Manifest m = Manifest.read(dir);
        assertEquals(9, m.step());
        assertEquals(2, m.files().size());
        assertEquals(Files.size(dir.resolve("stage-1-of-2.h5")), m.files().get(1).bytes());
        Manifest.TensorRecord wq = m.byName().get("blocks.0.attn.wq");
        assertEquals("stage-0-of-2.h5", wq.file());
        assertEquals(Checksums.of(model.get(1).array("adam.m")), wq.crcs().get("adam.m"));
        assertEquals(m, Manifest.parse(m.format(), dir));
        assertEquals(Manifest.read(dir).format(), Files.readString(dir.resolve(CheckpointPaths.MANIFEST)));
        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointReader.open(run));
        assertTrue(e.getMessage().contains("has no manifest.txt"), e.getMessage());
    }
}
