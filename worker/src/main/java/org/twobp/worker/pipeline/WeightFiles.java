package org.twobp.worker.pipeline;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Weights as plain files, one per parameter: {@code DIR/NAME.f32}, little-endian float32. What
 * {@code --dump-weights} writes, so that runs can be compared bit for bit with any tool
 * ({@code numpy.fromfile(f, "<f4")}).
 */
public final class WeightFiles {

    private WeightFiles() {
    }

    public static void write(Path dir, Map<String, float[]> weights) {
        try {
            Files.createDirectories(dir);
            for (Map.Entry<String, float[]> e : weights.entrySet()) {
                ByteBuffer b = ByteBuffer.allocate(e.getValue().length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(e.getValue());
                Files.write(dir.resolve(e.getKey() + ".f32"), b.array());
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot write weights to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Every {@code NAME.f32} in {@code dir}, by name. */
    public static Map<String, float[]> read(Path dir) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".f32")).sorted().toList()) {
                String name = f.getFileName().toString();
                ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
                float[] v = new float[b.remaining() / Float.BYTES];
                b.asFloatBuffer().get(v);
                out.put(name.substring(0, name.length() - 4), v);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read weights from " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }
}
