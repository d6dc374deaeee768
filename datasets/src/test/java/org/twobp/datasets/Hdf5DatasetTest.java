package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.DatasetCreationOptions;
import io.jhdf.api.WritableGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Hdf5DatasetTest {

    @TempDir
    Path dir;

    /** Reads every window through jhdf slices instead of loading the dataset. */
    private static final Datasets.Tuning SLICED = new Datasets.Tuning(1 << 20, 0, 0);

    private static final DatasetCreationOptions UNSIGNED = DatasetCreationOptions.builder().unsigned().build();

    /** uint16 ids 40000.. in /tokens. */
    private Path uint16File(String name, int n) {
        short[] ids = new short[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (short) (40_000 + i);
        }
        Path path = dir.resolve(name);
        try (WritableHdfFile f = HdfFile.write(path)) {
            f.putDataset("tokens", ids, UNSIGNED);
            f.putAttribute("vocab_size", 50_257);
        }
        return path;
    }

    @Test
    void uint16DatasetRoundTripsLoadedOrSliced() {
        Path file = uint16File("u16.h5", 5_000);
        DatasetConfig config = new DatasetConfig("hdf5:" + file + "?dataset=tokens", 40, 0, 4);
        try (TokenDataset loaded = Datasets.open(config); TokenDataset sliced = Datasets.open(config, SLICED)) {
            assertEquals(50_257, loaded.vocabSize(), "vocabulary from the vocab_size attribute");
            assertTrue(loaded.describe().contains("5,000 uint16 tokens (in memory)"), loaded.describe());
            assertTrue(sliced.describe().contains("(read per window)"), sliced.describe());
            for (int k = 0; k < 5; k++) {
                Batch b = loaded.next(8);
                WindowChecks.assertCountingWindows(b, 40_000, 5_000);
                assertEquals(b, sliced.next(8));
            }
        }
    }

    @Test
    void uint32AndSignedTypesInGroupsWork() {
        Path path = dir.resolve("types.h5");
        int[] u32 = new int[3_000];
        long[] i64 = new long[3_000];
        int[] i32 = new int[3_000];
        for (int i = 0; i < u32.length; i++) {
            u32[i] = 100_000 + i;
            i64[i] = 200_000 + i;
            i32[i] = 300_000 + i;
        }
        try (WritableHdfFile f = HdfFile.write(path)) {
            WritableGroup g = f.putGroup("data");
            g.putDataset("u32", u32, UNSIGNED);
            g.putDataset("i64", i64);
            f.putDataset("i32", i32);
        }
        long[] bases = {100_000, 200_000, 300_000};
        String[] names = {"data/u32", "data/i64", "i32"};
        for (int i = 0; i < names.length; i++) {
            for (Datasets.Tuning tuning : new Datasets.Tuning[] {Datasets.Tuning.DEFAULT, SLICED}) {
                DatasetConfig config = new DatasetConfig("hdf5:" + path + "?dataset=" + names[i], 16, 400_000, 1);
                try (TokenDataset data = Datasets.open(config, tuning)) {
                    WindowChecks.assertCountingWindows(data.next(8), bases[i], 3_000);
                }
            }
        }
    }

    @Test
    void twoDimensionalDatasetsAreFlattenedRowMajor() {
        Path path = dir.resolve("rows.h5");
        int[][] rows = new int[50][20];
        for (int r = 0; r < 50; r++) {
            for (int c = 0; c < 20; c++) {
                rows[r][c] = r * 20 + c;
            }
        }
        try (WritableHdfFile f = HdfFile.write(path)) {
            f.putDataset("tokens", rows);
        }
        try (TokenDataset data = Datasets.open("hdf5:" + path + "?vocab=1000", 30, 0, 2)) {
            WindowChecks.assertCountingWindows(data.next(8), 0, 1_000);
        }
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open(new DatasetConfig("hdf5:" + path + "?vocab=1000", 30, 0, 2), SLICED));
        assertTrue(e.getMessage().contains("store large token sets as a 1-D dataset"), e.getMessage());
    }

    @Test
    void deterministicAndResumable() {
        Path file = uint16File("resume.h5", 3_000);
        StreamChecks.assertDeterministicAndResumable(() -> Datasets.open("hdf5:" + file, 12, 0, 21));
        StreamChecks.assertDeterministicAndResumable(
                () -> Datasets.open(new DatasetConfig("hdf5:" + file, 12, 0, 21), SLICED));
    }

    @Test
    void tokenAtOrAboveTheVocabularyIsReportedWithItsPosition() {
        Path path = dir.resolve("bad.h5");
        int[] ids = new int[400];
        ids[123] = 77_777;
        ids[300] = -3;
        try (WritableHdfFile f = HdfFile.write(path)) {
            f.putDataset("tokens", ids);
        }
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + path, 8, 1_000, 1));
        assertTrue(e.getMessage().contains("token id 77777 at element 123 of HDF5 dataset 'tokens'"), e.getMessage());
        ids[123] = 0;
        Path negative = dir.resolve("negative.h5");
        try (WritableHdfFile f = HdfFile.write(negative)) {
            f.putDataset("tokens", ids);
        }
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + negative, 8, 1_000, 1));
        assertTrue(e.getMessage().contains("token id -3 at element 300"), e.getMessage());
    }

    @Test
    void badFilesSayWhatIsWrong() throws IOException {
        Path path = dir.resolve("mixed.h5");
        try (WritableHdfFile f = HdfFile.write(path)) {
            f.putDataset("weights", new float[] {1, 2, 3});
            f.putDataset("ids", new int[] {1, 2, 3});
            f.putDataset("one", 5);
            // (jhdf 0.13 writes an empty group that no reader can open, so the group gets a member.)
            f.putGroup("group").putDataset("inner", new int[] {1});
        }
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + path, 2, 10, 1));
        assertTrue(e.getMessage().contains("no dataset 'tokens'") && e.getMessage().contains("ids, one, weights")
                && e.getMessage().contains("?dataset=<path>"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + path + "?dataset=weights", 2, 10, 1));
        assertTrue(e.getMessage().contains("holds float values, not integer token ids"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + path + "?dataset=one", 2, 10, 1));
        assertTrue(e.getMessage().contains("is a scalar"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + path + "?dataset=group", 2, 10, 1));
        assertTrue(e.getMessage().contains("is a group"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + path + "?dataset=ids", 2, 0, 1));
        assertTrue(e.getMessage().contains("add vocab="), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + path + "?dataset=ids", 8, 10, 1));
        assertTrue(e.getMessage().contains("holds 3 tokens"), e.getMessage());
        Path text = Files.writeString(dir.resolve("not.h5"), "plain text, not HDF5");
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + text, 2, 10, 1));
        assertTrue(e.getMessage().contains("as HDF5"), e.getMessage());
        Path broken = dir.resolve("broken.h5");
        try (WritableHdfFile f = HdfFile.write(broken)) {
            f.putDataset("tokens", new int[] {1, 2, 3});
            f.putGroup("empty");
        }
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + broken, 2, 10, 1));
        assertTrue(e.getMessage().contains("h5dump -H"), e.getMessage());
        Path empty = Files.createFile(dir.resolve("empty.h5"));
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + empty, 2, 10, 1));
        assertTrue(e.getMessage().contains("empty.h5"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + dir.resolve("gone.h5"), 2, 10, 1));
        assertTrue(e.getMessage().contains("data file not found"), e.getMessage());
        Path small = uint16File("vocab.h5", 100);
        e = assertThrows(DatasetException.class, () -> Datasets.open("hdf5:" + small, 8, 32_000, 1));
        assertTrue(e.getMessage().contains("at least 50257"), e.getMessage());
    }
}
