package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CkptCommandsTest {

    @TempDir
    Path run;

    @TempDir
    Path other;

    private record Result(int code, String out, String err) {
    }

    private static Result ckpt(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = CkptCommands.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, ckpt().code());
        Result unknown = ckpt("rm", run.toString());
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown command 'rm'") && unknown.err().contains("usage: twobp ckpt"),
                unknown.err());
        assertEquals(2, ckpt("ls").code());
        assertEquals(2, ckpt("ls", run.toString(), "--bogus", "1").code());
        assertEquals(2, ckpt("convert", run.toString(), other.toString()).code());
        Result bad = ckpt("convert", run.toString(), other.toString(), "--stages", "two");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--stages must be a whole number"), bad.err());
        assertEquals(2, ckpt("verify", run.toString(), "--stages").code());
        assertEquals(0, ckpt("--help").code());
    }

    @Test
    void lsListsStepsStagesSizesAndCompleteness() {
        List<TensorEntry> model = Fixtures.model(1, 1);
        Fixtures.save(run, 100, model, 2);
        Fixtures.saveUncommitted(run, 200, model, 4, 3);
        Result r = ckpt("ls", run.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].startsWith("step") && lines[0].contains("status"), r.out());
        assertTrue(lines[1].matches("100\\s+2\\s+\\d+\\.\\d kB\\s+complete"), lines[1]);
        assertTrue(lines[2].matches("200\\s+4\\s+.*incomplete: no manifest.txt.*"), lines[2]);

        Result tensors = ckpt("ls", CheckpointPaths.stepDir(run, 100).toString());
        assertEquals(0, tensors.code(), tensors.err());
        assertTrue(tensors.out().contains("step 100, 2 stages, 6 tensors"), tensors.out());
        assertTrue(tensors.out().matches("(?s).*blocks\\.0\\.attn\\.wq\\s+\\[8,8\\]\\s+value,adam.m,adam.v\\s+"
                + "stage-0-of-2\\.h5.*"), tensors.out());

        Fixtures.save(run, 300, model, 2);
        Fixtures.setAside(run, 300, 1_700_000_000_000L);
        Fixtures.saveUncommitted(run, 400, model, 2, 1);
        Fixtures.setAside(run, 400, 1_700_000_060_000L);
        Result stale = ckpt("ls", run.toString());
        assertEquals(0, stale.code(), stale.err());
        lines = stale.out().split("\n");
        assertEquals(6, lines.length, stale.out());
        assertTrue(lines[3].matches("300\\s+2\\s+\\d+\\.\\d kB\\s+stale \\(stale-step-300-1700000000000, set aside "
                + "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\): complete"), lines[3]);
        assertTrue(lines[4].matches("400\\s+2\\s+\\d+\\.\\d kB\\s+stale \\(stale-step-400-.*\\): incomplete: no manifest.txt.*"),
                lines[4]);
        long staleBytes = CheckpointScan.listStale(run, Check.QUICK).stream().mapToLong(CheckpointInfo::bytes).sum();
        assertTrue(staleBytes > 2_000, "sizes are counted: " + staleBytes);
        assertTrue(lines[5].startsWith("2 stale folders, " + CkptCommands.size(staleBytes) + ": later steps of histories"
                + " that a resume abandoned"), lines[5]);

        Result notRun = ckpt("ls", other.toString());
        assertEquals(1, notRun.code());
        assertTrue(notRun.err().contains("has no checkpoints folder"), notRun.err());
    }

    @Test
    void verifyExitsWithOneWhenSomethingIsDamaged() {
        List<TensorEntry> model = Fixtures.model(1, 2);
        Path dir = Fixtures.save(run, 5, model, 1);
        Result ok = ckpt("verify", dir.toString());
        assertEquals(0, ok.code(), ok.out());
        assertTrue(ok.out().contains("OK"), ok.out());
        FloatSlice v = model.get(0).value();
        Path file = dir.resolve("stage-0-of-1.h5");
        Fixtures.flipByte(file, Fixtures.find(file, v.array(), v.offset(), 8));
        Fixtures.saveUncommitted(run, 6, model, 1, 1);
        Result bad = ckpt("verify", run.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.out().contains("step-6: not a checkpoint (no manifest.txt"), bad.out());
        assertTrue(bad.out().contains("tensor embed.wte array value") && bad.out().contains("FAILED"), bad.out());
    }

    @Test
    void convertRewritesForAnotherStageCount() {
        List<TensorEntry> model = Fixtures.model(2, 3);
        Fixtures.save(run, 9, model, 2);
        Result r = ckpt("convert", run.toString(), other.toString(), "--stages", "3",
                "--layout", "embed,blocks.0|blocks.1|head");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("step 9, 3 stages") && r.out().contains("layout: embed,blocks.0|blocks.1|head"),
                r.out());
        CheckpointReader c = CheckpointReader.open(CheckpointPaths.stepDir(other, 9));
        for (TensorEntry t : model) {
            Fixtures.assertSameBits(t, c.read(t.name()));
        }
        Path balanced = other.resolve("b");
        Result b = ckpt("convert", CheckpointPaths.stepDir(run, 9).toString(), balanced.toString(), "--stages=4",
                "--split-mb", "1");
        assertEquals(0, b.code(), b.err());
        assertEquals(4, CheckpointReader.open(CheckpointPaths.stepDir(balanced, 9)).stages());

        Result mismatch = ckpt("convert", run.toString(), other.resolve("c").toString(), "--stages", "2",
                "--layout", "embed|blocks|head");
        assertEquals(2, mismatch.code());
        assertTrue(mismatch.err().contains("--layout has 3 stages but --stages says 2"), mismatch.err());
    }
}
