package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a checkpoint end to end: the manifest's own checksum; each stage file's size and
 * CRC-32 against the manifest; and every array of every tensor, recomputed from the data,
 * against the checksum stored with it and the one in the manifest. Without a manifest, the
 * files present are still checked against their own checksums, to show how far a save got.
 */
public final class Verifier {

    private Verifier() {
    }

    public static VerifyReport verify(Path stepDir) {
        long step = CheckpointPaths.parseStep(stepDir.getFileName().toString());
        List<String> problems = new ArrayList<>();
        List<VerifyReport.FileReport> files = new ArrayList<>();
        if (!Files.isDirectory(stepDir)) {
            problems.add("does not exist");
            return new VerifyReport(stepDir, step, problems, files);
        }
        Manifest m = null;
        try {
            m = Manifest.read(stepDir);
            step = m.step();
        } catch (CheckpointException e) {
            problems.add(e.getMessage());
        }
        if (m != null) {
            for (Manifest.FileEntry f : m.files()) {
                files.add(checkListed(stepDir, m, f));
            }
        } else {
            for (Path p : stageFiles(stepDir)) {
                files.add(checkUnlisted(p));
            }
        }
        return new VerifyReport(stepDir, step, problems, files);
    }

    private static VerifyReport.FileReport checkListed(Path dir, Manifest m, Manifest.FileEntry f) {
        Path p = dir.resolve(f.name());
        List<String> problems = new ArrayList<>();
        if (!Files.isRegularFile(p)) {
            problems.add("missing (the manifest lists it)");
            return new VerifyReport.FileReport(f.name(), 0, 0, problems);
        }
        long size = size(p);
        if (size != f.bytes()) {
            problems.add("size " + size + " bytes, the manifest recorded " + f.bytes() + " (truncated or overwritten)");
        } else {
            long crc = Checksums.ofFile(p);
            if (crc != f.crc32()) {
                problems.add("file CRC-32 " + Checksums.hex(crc) + ", the manifest recorded " + Checksums.hex(f.crc32())
                        + " (bytes changed after saving)");
            }
        }
        int checked = 0;
        try (StageFileReader r = StageFileReader.open(p)) {
            if (r.step() != m.step() || r.stage() != f.stage() || r.stages() != m.stages()) {
                problems.add("its header says step " + r.step() + ", stage " + r.stage() + " of " + r.stages()
                        + "; the manifest says step " + m.step() + ", stage " + f.stage() + " of " + m.stages());
            }
            Set<String> inFile = new HashSet<>(r.tensorNames());
            for (Manifest.TensorRecord t : m.tensors()) {
                if (!t.file().equals(f.name())) {
                    continue;
                }
                if (!inFile.remove(t.name())) {
                    problems.add("tensor " + t.name() + ": listed in the manifest but not in the file");
                    continue;
                }
                checkTensor(r, t.name(), t.crcs(), problems);
                checked++;
            }
            for (String extra : inFile) {
                problems.add("tensor " + extra + ": in the file but not in the manifest");
            }
        } catch (CheckpointException e) {
            problems.add(e.getMessage());
        }
        return new VerifyReport.FileReport(f.name(), size, checked, problems);
    }

    private static VerifyReport.FileReport checkUnlisted(Path p) {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        try (StageFileReader r = StageFileReader.open(p)) {
            for (String t : r.tensorNames()) {
                checkTensor(r, t, null, problems);
                checked++;
            }
        } catch (CheckpointException e) {
            problems.add(e.getMessage());
        }
        return new VerifyReport.FileReport(p.getFileName().toString(), size(p), checked, problems);
    }

    /** Recomputes each array's checksum and compares it with the stored one and the manifest's. */
    private static void checkTensor(StageFileReader r, String name, Map<String, Long> manifestCrcs,
                                    List<String> problems) {
        try {
            TensorInfo info = r.info(name);
            if (manifestCrcs != null && !manifestCrcs.keySet().equals(new HashSet<>(info.arrays()))) {
                problems.add("tensor " + name + ": arrays " + info.arrays() + ", the manifest recorded "
                        + manifestCrcs.keySet());
            }
            for (String a : info.arrays()) {
                long stored = r.storedCrc(name, a);
                long actual = Checksums.of(r.readArray(name, a));
                if (actual != stored) {
                    problems.add("tensor " + name + " array " + a + ": CRC-32 " + Checksums.hex(actual)
                            + ", stored " + Checksums.hex(stored) + " (data damaged)");
                }
                Long listed = manifestCrcs == null ? null : manifestCrcs.get(a);
                if (listed != null && listed != stored) {
                    problems.add("tensor " + name + " array " + a + ": stored CRC-32 " + Checksums.hex(stored)
                            + ", the manifest recorded " + Checksums.hex(listed));
                }
            }
        } catch (CheckpointException e) {
            problems.add("tensor " + name + ": " + e.getMessage());
        }
    }

    private static List<Path> stageFiles(Path dir) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (CheckpointPaths.parseStageFile(p.getFileName().toString()) != null) {
                    out.add(p);
                }
            }
        } catch (IOException e) {
            // reported as a folder without stage files
        }
        out.sort(null);
        return out;
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }
}
