package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DatasetSpecTest {

    @Test
    void parsesKindLocationAndOptions() {
        DatasetSpec s = DatasetSpec.parse(" tokens:data/train.bin?dtype=uint16&vocab=50257&flag ");
        assertEquals("tokens", s.kind());
        assertEquals("data/train.bin", s.location());
        assertEquals(Map.of("dtype", "uint16", "vocab", "50257", "flag", "true"), s.options());
        DatasetSpec t = DatasetSpec.parse("text:C:/corpora/input.txt");
        assertEquals("C:/corpora/input.txt", t.location(), "only the first colon separates the kind");
        assertTrue(t.options().isEmpty());
    }

    @Test
    void badSpecsSayWhatIsAccepted() {
        for (String bad : new String[] {"", "  ", "addition", ":x"}) {
            DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(bad, 8, 0, 1));
            assertTrue(e.getMessage().contains("synthetic:addition, synthetic:copy, text:PATH"), e.getMessage());
        }
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open("parquet:x.pq", 8, 0, 1));
        assertTrue(e.getMessage().contains("unknown data kind 'parquet'"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:copy?length=4&length=5", 8, 0, 1));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:copy?length=abc", 8, 0, 1));
        assertTrue(e.getMessage().contains("length=abc") && e.getMessage().contains("integer"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:addition?reverse=maybe", 64, 0, 1));
        assertTrue(e.getMessage().contains("true or false"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open("synthetic:copy?=3", 64, 0, 1));
        assertTrue(e.getMessage().contains("option without a name"), e.getMessage());
    }

    @Test
    void configIsValidated() {
        assertThrows(DatasetException.class, () -> new DatasetConfig("synthetic:copy", 0, 0, 1));
        assertThrows(DatasetException.class, () -> new DatasetConfig("synthetic:copy", 8, -1, 1));
        DatasetException e = assertThrows(DatasetException.class,
                () -> new DatasetConfig("synthetic:copy", 8, 0, 1, 2, 2));
        assertTrue(e.getMessage().contains("shard 2 of 2"), e.getMessage());
        DatasetConfig c = new DatasetConfig("synthetic:copy", 8, 0, 1).withShard(1, 4);
        assertEquals(new Shard(1, 4), c.shard());
    }
}
