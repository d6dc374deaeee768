package org.twobp.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DataPositionTest {

    @Test
    void roundTripsThroughLongsAndText() {
        DataPosition p = new DataPosition(123456789L, 0xF0E1D2C3B4A59687L);
        assertEquals(p, DataPosition.fromLongs(p.toLongs()));
        assertEquals(p, DataPosition.parse(p.toString()));
        assertEquals("samples=123456789,fingerprint=f0e1d2c3b4a59687", p.toString());
        assertEquals(new DataPosition(123456799L, p.fingerprint()), p.advance(10));
    }

    @Test
    void rejectsMalformedForms() {
        assertThrows(DatasetException.class, () -> DataPosition.parse("12"));
        assertThrows(DatasetException.class, () -> DataPosition.parse("samples=x,fingerprint=00"));
        assertThrows(DatasetException.class, () -> DataPosition.parse(null));
        assertThrows(DatasetException.class, () -> DataPosition.fromLongs(1, 2, 3));
        DatasetException e = assertThrows(DatasetException.class, () -> new DataPosition(-1, 0));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    }

    @Test
    void seekRefusesAPositionFromAnotherConfiguration() {
        DataPosition p;
        try (TokenDataset a = Datasets.open("synthetic:addition", 32, 0, 1)) {
            a.next(2);
            p = a.position();
        }
        for (String spec : new String[] {"synthetic:addition?digits=4", "synthetic:copy"}) {
            try (TokenDataset b = Datasets.open(spec, 32, 0, 1)) {
                DatasetException e = assertThrows(DatasetException.class, () -> b.seek(p));
                assertTrue(e.getMessage().contains("different dataset configuration"), e.getMessage());
            }
        }
        try (TokenDataset b = Datasets.open("synthetic:addition", 32, 0, 2)) {
            assertThrows(DatasetException.class, () -> b.seek(p), "another seed");
        }
        try (TokenDataset b = Datasets.open(new DatasetConfig("synthetic:addition", 32, 0, 1, 1, 2))) {
            assertThrows(DatasetException.class, () -> b.seek(p), "another shard");
        }
    }
}
