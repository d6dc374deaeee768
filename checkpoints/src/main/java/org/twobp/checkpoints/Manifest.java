package org.twobp.checkpoints;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The completion record of a checkpoint, written by rank 0 after every stage file is in place;
 * a step folder without it is not a checkpoint. It lists the files (size, CRC-32 of the bytes)
 * and every tensor (its file, shape and per-array CRC-32), which is the index a loader uses to
 * find a layer in whichever stage file holds it. Tab-separated text, readable with grep:
 * <pre>
 *   twobp-checkpoint-manifest  1
 *   step                       500
 *   stages                     4
 *   created_unix_ms            1700000000000
 *   file     stage-0-of-4.h5   0                  1234567        9f3c01aa
 *   tensor   stage-0-of-4.h5   blocks.0.attn.wq   [768,768]      value:1a2b3c4d,adam.m:...,adam.v:...
 *   end      CRC-32 of every byte above this line
 * </pre>
 */
public record Manifest(long step, int stages, long createdUnixMs, List<FileEntry> files,
                       List<TensorRecord> tensors) {

    static final String MAGIC = "twobp-checkpoint-manifest";
    static final int VERSION = 1;

    /** One stage file: its name, stage index, size in bytes and CRC-32 of its bytes. */
    public record FileEntry(String name, int stage, long bytes, long crc32) {
    }

    /** One tensor: the file holding it, its name, shape and the CRC-32 of each array. */
    public record TensorRecord(String file, String name, int[] shape, Map<String, Long> crcs) {
        public TensorRecord {
            shape = shape.clone();
            crcs = Collections.unmodifiableMap(new LinkedHashMap<>(crcs));
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        public TensorInfo info() {
            return new TensorInfo(name, shape, new ArrayList<>(crcs.keySet()));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TensorRecord t && t.file.equals(file) && t.name.equals(name)
                    && java.util.Arrays.equals(t.shape, shape) && t.crcs.equals(crcs);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + crcs.hashCode();
        }

        @Override
        public String toString() {
            return name + TensorInfo.shapeText(shape) + " in " + file + " " + crcs;
        }
    }

    public Manifest {
        files = List.copyOf(files);
        tensors = List.copyOf(tensors);
    }

    public long totalBytes() {
        return files.stream().mapToLong(FileEntry::bytes).sum();
    }

    /** Tensors by name, in manifest order. */
    public Map<String, TensorRecord> byName() {
        Map<String, TensorRecord> m = new LinkedHashMap<>();
        for (TensorRecord t : tensors) {
            m.put(t.name(), t);
        }
        return m;
    }

    public List<TensorInfo> tensorInfos() {
        return tensors.stream().map(TensorRecord::info).toList();
    }

    static boolean exists(Path stepDir) {
        return Files.isRegularFile(stepDir.resolve(CheckpointPaths.MANIFEST));
    }

    /** Reads and checks the manifest of {@code stepDir}; fails saying it is missing or damaged. */
    public static Manifest read(Path stepDir) {
        Path p = stepDir.resolve(CheckpointPaths.MANIFEST);
        String text;
        try {
            text = Files.readString(p, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(stepDir + " has no " + CheckpointPaths.MANIFEST
                    + ": the checkpoint was never completed (a stage failed or the job stopped while saving)");
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + p + ": " + e.getMessage(), e);
        }
        return parse(text, p);
    }

    void write(Path stepDir) {
        DurableFiles.writeText(stepDir.resolve(CheckpointPaths.MANIFEST), format());
    }

    String format() {
        StringBuilder sb = new StringBuilder();
        sb.append(MAGIC).append('\t').append(VERSION).append('\n');
        sb.append("step\t").append(step).append('\n');
        sb.append("stages\t").append(stages).append('\n');
        sb.append("created_unix_ms\t").append(createdUnixMs).append('\n');
        for (FileEntry f : files) {
            sb.append("file\t").append(f.name()).append('\t').append(f.stage()).append('\t').append(f.bytes())
                    .append('\t').append(Checksums.hex(f.crc32())).append('\n');
        }
        for (TensorRecord t : tensors) {
            sb.append("tensor\t").append(t.file()).append('\t').append(t.name()).append('\t')
                    .append(TensorInfo.shapeText(t.shape)).append('\t');
            String sep = "";
            for (Map.Entry<String, Long> e : t.crcs().entrySet()) {
                sb.append(sep).append(e.getKey()).append(':').append(Checksums.hex(e.getValue()));
                sep = ",";
            }
            sb.append('\n');
        }
        CRC32 crc = new CRC32();
        crc.update(sb.toString().getBytes(StandardCharsets.UTF_8));
        sb.append("end\t").append(Checksums.hex(crc.getValue())).append('\n');
        return sb.toString();
    }

    static Manifest parse(String text, Path source) {
        int end = text.lastIndexOf("end\t");
        if (end < 0 || (end > 0 && text.charAt(end - 1) != '\n')) {
            throw damaged(source, "it has no end line (truncated)");
        }
        String body = text.substring(0, end);
        CRC32 crc = new CRC32();
        crc.update(body.getBytes(StandardCharsets.UTF_8));
        String stored = text.substring(end + 4).strip();
        if (!stored.equals(Checksums.hex(crc.getValue()))) {
            throw damaged(source, "its checksum does not match its content");
        }
        long step = -1;
        int stages = -1;
        long created = 0;
        boolean magic = false;
        List<FileEntry> files = new ArrayList<>();
        List<TensorRecord> tensors = new ArrayList<>();
        String[] lines = body.split("\n");
        try {
            for (String line : lines) {
                String[] f = line.split("\t", -1);
                switch (f[0]) {
                    case MAGIC -> {
                        if (Integer.parseInt(f[1]) > VERSION) {
                            throw new CheckpointException(source + " has manifest version " + f[1]
                                    + ", newer than this build reads (" + VERSION + "); use a newer twobp");
                        }
                        magic = true;
                    }
                    case "step" -> step = Long.parseLong(f[1]);
                    case "stages" -> stages = Integer.parseInt(f[1]);
                    case "created_unix_ms" -> created = Long.parseLong(f[1]);
                    case "file" -> files.add(new FileEntry(f[1], Integer.parseInt(f[2]), Long.parseLong(f[3]),
                            Checksums.parseHex(f[4])));
                    case "tensor" -> tensors.add(new TensorRecord(f[1], f[2], parseShape(f[3]), parseCrcs(f[4])));
                    default -> throw damaged(source, "unknown line '" + line + "'");
                }
            }
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw damaged(source, "a line cannot be read (" + e.getMessage() + ")");
        }
        if (!magic || step < 0 || stages < 1 || files.size() != stages) {
            throw damaged(source, "its header is incomplete");
        }
        return new Manifest(step, stages, created, files, tensors);
    }

    private static int[] parseShape(String text) {
        if (!text.startsWith("[") || !text.endsWith("]")) {
            throw new NumberFormatException("bad shape " + text);
        }
        String inner = text.substring(1, text.length() - 1);
        if (inner.isEmpty()) {
            return new int[0];
        }
        String[] parts = inner.split(",");
        int[] shape = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            shape[i] = Integer.parseInt(parts[i]);
        }
        return shape;
    }

    private static Map<String, Long> parseCrcs(String text) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String item : text.split(",")) {
            int colon = item.lastIndexOf(':');
            if (colon < 0) {
                throw new NumberFormatException("bad array checksum " + item);
            }
            m.put(item.substring(0, colon), Checksums.parseHex(item.substring(colon + 1)));
        }
        return m;
    }

    private static CheckpointException damaged(Path source, String why) {
        return new CheckpointException("manifest " + source + " is damaged: " + why
                + "; this checkpoint cannot be trusted, resume from an earlier one (run 'twobp ckpt verify' on it)");
    }
}
