package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LocalGpuTest {

    @Test
    void unsetLeavesTheCountToTheDriver() {
        LocalGpu.Visible v = LocalGpu.parseVisible(null);
        assertFalse(v.set());
        assertEquals(-1, v.count());
        assertFalse(v.hidesAll());
    }

    @Test
    void emptyMinusOneAndNoDevFilesHideEveryDevice() {
        for (String s : new String[] {"", " ", "-1", "NoDevFiles", "none"}) {
            LocalGpu.Visible v = LocalGpu.parseVisible(s);
            assertTrue(v.set(), s);
            assertTrue(v.hidesAll(), s);
            assertEquals(0, v.count(), s);
        }
    }

    @Test
    void ordinalsAndUuidsAreListedUpToTheFirstInvalidEntry() {
        assertEquals(List.of("0", "1", "2"), LocalGpu.parseVisible("0,1,2").entries());
        assertEquals(List.of("3", "1"), LocalGpu.parseVisible(" 3 , 1 ").entries());
        assertEquals(List.of("0", "2"), LocalGpu.parseVisible("0,2,-1,1").entries());
        LocalGpu.Visible uuids = LocalGpu.parseVisible(
                "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6,GPU-5d0c9e3b,MIG-4a2e7b1c-1c2d-5e6f-8a9b-0c1d2e3f4a5b");
        assertEquals(3, uuids.count());
        assertEquals("GPU-5d0c9e3b", uuids.entries().get(1));
        assertEquals(1, LocalGpu.parseVisible("1,,2").count());
    }

    @Test
    void enoughGpusGiveEachRankItsOwn() {
        for (int r = 0; r < 4; r++) {
            LocalGpu.Choice c = LocalGpu.choose(r, 4, 4, false);
            assertEquals(r, c.ordinal());
            assertNull(c.warning());
        }
        assertEquals(1, LocalGpu.choose(1, 2, 8, false).ordinal());
        assertNull(LocalGpu.choose(1, 2, 8, false).warning());
    }

    @Test
    void oneGpuPerTaskIsDeviceZeroWithoutWarning() {
        // Slurm --gpus-per-task=1: every rank sees exactly its own GPU as device 0
        for (int r = 0; r < 4; r++) {
            LocalGpu.Choice c = LocalGpu.choose(r, 4, 1, true);
            assertEquals(0, c.ordinal());
            assertNull(c.warning());
        }
    }

    @Test
    void ranksSharingTheOnlyGpuAreWarnedAbout() {
        LocalGpu.Choice c = LocalGpu.choose(2, 4, 1, false);
        assertEquals(0, c.ordinal());
        assertNotNull(c.warning());
        assertTrue(c.warning().contains("4 ranks"), c.warning());
    }

    @Test
    void fewerGpusThanRanksShareRoundRobinWithAWarning() {
        LocalGpu.Choice c = LocalGpu.choose(3, 4, 2, true);
        assertEquals(1, c.ordinal());
        assertNotNull(c.warning());
        assertTrue(c.warning().contains("GPU 1 serves local ranks 1,3"), c.warning());
        assertEquals(2, LocalGpu.choose(5, 6, 3, false).ordinal());
    }

    @Test
    void aRankBeyondTheReportedSizeStillGetsADevice() {
        assertEquals(1, LocalGpu.choose(3, 1, 2, false).ordinal());
    }

    @Test
    void noVisibleDeviceIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> LocalGpu.choose(0, 1, 0, false));
        assertThrows(IllegalArgumentException.class, () -> LocalGpu.choose(-1, 1, 1, false));
    }
}
