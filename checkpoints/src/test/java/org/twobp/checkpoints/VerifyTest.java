package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifyTest {

    @TempDir
    Path run;

    @Test
    void anIntactCheckpointVerifies() {
        Path dir = Fixtures.save(run, 10, Fixtures.model(2, 1), 3);
        VerifyReport r = Verifier.verify(dir);
        assertTrue(r.ok(), r.format());
        assertEquals(3, r.files().size());
        assertEquals(10, r.files().stream().mapToInt(VerifyReport.FileReport::tensorsChecked).sum());
    }

    @Test
    void aFlippedByteInATensorIsReportedWithFileAndTensor() {
        List<TensorEntry> model = Fixtures.model(2, 2);
        Fixtures.save(run, 10, model, 2);
        Path dir = Fixtures.save(run, 20, model, 2);
        Path file = dir.resolve("stage-0-of-2.h5");
        FloatSlice m = model.get(1).array("adam.m");                         // blocks.0.attn.wq
        Fixtures.flipByte(file, Fixtures.find(file, m.array(), m.offset(), 16) + 5);

        VerifyReport r = Verifier.verify(dir);
        assertFalse(r.ok());
        VerifyReport.FileReport bad = r.files().get(0);
        assertEquals("stage-0-of-2.h5", bad.file());
        assertTrue(bad.problems().stream().anyMatch(p -> p.startsWith("file CRC-32")), bad.problems().toString());
        assertTrue(bad.problems().stream().anyMatch(p -> p.contains("tensor blocks.0.attn.wq array adam.m")
                && p.contains("data damaged")), r.format());
        assertTrue(r.files().get(1).ok(), r.format());
        assertTrue(r.format().contains("FAILED"), r.format());

        CheckpointInfo full = CheckpointScan.inspect(dir, Check.FULL);
        assertFalse(full.complete());
        assertTrue(full.problem().contains("stage-0-of-2.h5 has CRC-32"), full.problem());
        Resolution res = ResumeResolver.resolve(run, "latest");
        assertEquals(10, res.step());
        assertTrue(res.skipped().get(0).contains("stage-0-of-2.h5"), res.skipped().toString());

        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointReader.open(dir).read("blocks.0.attn.wq"));
        assertTrue(e.getMessage().contains("tensor blocks.0.attn.wq array adam.m") && e.getMessage().contains("damaged"),
                e.getMessage());
        CheckpointReader.open(dir).read("embed.wte");    // the undamaged tensors of the file still load
    }

    @Test
    void aTruncatedFileIsReportedAndQuickChecksCatchIt() throws Exception {
        List<TensorEntry> model = Fixtures.model(1, 3);
        Fixtures.save(run, 1, model, 2);
        Path dir = Fixtures.save(run, 2, model, 2);
        Path file = dir.resolve("stage-1-of-2.h5");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        VerifyReport r = Verifier.verify(dir);
        assertFalse(r.ok());
        assertTrue(r.files().get(1).problems().get(0).contains("truncated"), r.format());
        CheckpointInfo quick = CheckpointScan.inspect(dir, Check.QUICK);
        assertFalse(quick.complete());
        assertTrue(quick.problem().contains("stage-1-of-2.h5 has"), quick.problem());
        assertEquals(1, ResumeResolver.resolve(run, "auto", Check.QUICK).step());
    }

    @Test
    void aFolderWithoutManifestIsReportedAndItsFilesStillChecked() {
        Path dir = Fixtures.saveUncommitted(run, 5, Fixtures.model(1, 4), 2, 1);
        VerifyReport r = Verifier.verify(dir);
        assertFalse(r.ok());
        assertTrue(r.problems().get(0).contains("has no manifest.txt"), r.format());
        assertEquals(1, r.files().size());
        assertTrue(r.files().get(0).ok(), r.format());
    }

    @Test
    void aMissingStageFileIsReported() throws Exception {
        Path dir = Fixtures.save(run, 5, Fixtures.model(1, 5), 2);
        java.nio.file.Files.delete(dir.resolve("stage-0-of-2.h5"));
        VerifyReport r = Verifier.verify(dir);
        assertFalse(r.ok());
        assertTrue(r.files().get(0).problems().get(0).contains("missing"), r.format());
    }
}
