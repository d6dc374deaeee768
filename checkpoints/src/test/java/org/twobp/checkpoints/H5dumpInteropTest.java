package org.twobp.checkpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint files must open in the reference HDF5 tools, not only in jhdf. Needs h5dump (Debian
 * package hdf5-tools, installed by the project set-up); without it this test fails on purpose,
 * because an interop check that silently skips proves nothing.
 */
class H5dumpInteropTest {

    @TempDir
    Path run;

    Path file;
    Manifest manifest;

    @BeforeEach
    void write() {
        float[] w = {0.5f, 1.5f, -2f, 3.25f, 4f, 5.75f};
        float[] big = new float[4 * 5];
        for (int i = 0; i < big.length; i++) {
            big[i] = i - 7.25f;
        }
        CheckpointWriter writer = new CheckpointWriter(run, 40);     // 'big' rows are 20 bytes: 2 rows per part
        file = writer.writeStage(0, 1, TrainingState.at(42).withConfig("[optim]\nlr = 0.1\n")
                        .withRng("dropout", 7L, -8L).withModel("vocab_size", "16"),
                List.of(TensorEntry.of("blocks.0.attn.wq", new int[] {2, 3}, FloatSlice.of(w))
                                .with("adam.m", FloatSlice.of(new float[] {1, 2, 3, 4, 5, 6})),
                        TensorEntry.of("big", new int[] {4, 5}, FloatSlice.of(big))));
        manifest = writer.commit(42, 1);
    }

    private static String h5dump(String... args) throws IOException, InterruptedException {
        String exe = findOnPath("h5dump");
        if (exe == null) {
            fail("h5dump is not installed, so checkpoint interoperability cannot be checked. Install it with "
                    + "'apt-get install -y hdf5-tools' (Debian/Ubuntu; 'make setup' does this), then rerun.");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(exe);
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "h5dump did not finish");
        assertEquals(0, p.exitValue(), "h5dump " + String.join(" ", args) + " failed:\n" + out);
        return out;
    }

    private static String findOnPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    /** The numbers between "DATA {" and its closing brace, as h5dump -y prints them. */
    private static List<String> values(String dump) {
        int start = dump.indexOf("DATA {");
        assertTrue(start >= 0, "no DATA in:\n" + dump);
        String body = dump.substring(start + 6, dump.indexOf('}', start));
        List<String> out = new ArrayList<>();
        for (String v : body.split("[,\\s]+")) {
            if (!v.isBlank()) {
                out.add(v);
            }
        }
        return out;
    }

    @Test
    void h5dumpReadsTensorsStateAndTheWholeFile() throws Exception {
        String header = h5dump("-H", file.toString());
        assertTrue(header.contains("GROUP \"tensors\"") && header.contains("DATASET \"tensor_names\""), header);

        String value = h5dump("-y", "-w", "0", "-d", "/tensors/blocks.0.attn.wq/value", file.toString());
        assertTrue(value.contains("H5T_IEEE_F32LE") && value.contains("( 2, 3 )"), value);
        assertEquals(List.of("0.5", "1.5", "-2", "3.25", "4", "5.75"), values(value));
        assertEquals(List.of("1", "2", "3", "4", "5", "6"),
                values(h5dump("-y", "-w", "0", "-d", "/tensors/blocks.0.attn.wq/adam.m", file.toString())));

        String part = h5dump("-y", "-w", "0", "-d", "/tensors/big/value/part-001", file.toString());
        assertEquals(List.of("2.75", "3.75", "4.75", "5.75", "6.75", "7.75", "8.75", "9.75", "10.75", "11.75"),
                values(part));

        assertTrue(h5dump("-a", "/state/step", file.toString()).contains("(0): 42"));
        assertTrue(h5dump("-a", "/state/rng.dropout", file.toString()).contains("(0): 7, -8"));
        assertTrue(h5dump("-a", "/state/model.vocab_size", file.toString()).contains("(0): \"16\""));
        assertTrue(h5dump("-d", "/state/config", file.toString()).contains("lr = 0.1"));
    }

    @Test
    void theStoredChecksumIsTheCrc32OfTheDatasetBytesAsH5dumpExportsThem() throws Exception {
        Path raw = run.resolve("wq.bin");
        h5dump("-d", "/tensors/blocks.0.attn.wq/value", "-b", "LE", "-o", raw.toString(), file.toString());
        byte[] bytes = Files.readAllBytes(raw);
        assertEquals(6 * 4, bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        assertEquals(manifest.byName().get("blocks.0.attn.wq").crcs().get("value"), crc.getValue());
        assertTrue(h5dump("-a", "/tensors/blocks.0.attn.wq/value/crc32", file.toString())
                .contains("(0): " + crc.getValue()));
    }
}
