package org.twobp.tests.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.twobp.tests.LocalSlurm;

/** {@code bin/twobp env --selftest} end to end: the launcher starts ranks with mpirun and they measure their links. */
class EnvSelfTestTest {

    @Test
    void envSelfTestRunsRanksUnderMpirun() {
        String twobp = Path.of("..", "bin", "twobp").toAbsolutePath().normalize().toString();
        LocalSlurm.Output o = LocalSlurm.exec(List.of(twobp, "env", "--selftest", "--nproc", "3", "--max-bytes", "256K"),
                Map.of(), 120);
        System.out.print(o.text());
        assertEquals(0, o.exitCode(), o.text());
        assertTrue(o.text().contains("mpi.jar       on the class path"), o.text());
        assertTrue(o.text().contains("0 <-> 1") && o.text().contains("0 <-> 2"), o.text());
        assertTrue(o.text().contains("self-test: OK"), o.text());
    }
}
