package org.twobp.tests.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.tests.LocalSlurm;
import org.twobp.tests.MpiRun;
import org.twobp.tests.transport.RankCheck;

/**
 * Ranks started the two ways a Slurm allocation starts them — mpirun inside sbatch, and
 * srun --mpi=pmix — on a real local Slurm cluster: MPI comes up, and the rank read from the
 * environment before MPI_Init agrees with MPI's.
 */
class SlurmTransportTest {

    @BeforeAll
    static void cluster() {
        LocalSlurm.start();
    }

    @AfterAll
    static void stop() {
        LocalSlurm.stopIfStartedHere();
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    void mpirunInsideSbatch(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("job.out");
        Path script = dir.resolve("job.sh");
        Files.writeString(script, String.join("\n",
                "#!/bin/bash",
                "#SBATCH --ntasks=2",
                "#SBATCH --output=" + out,
                "#SBATCH --time=00:02:00",
                "# under mpirun in a batch step every rank inherits SLURM_PROCID=0: RankInfo must not trust it",
                "mpirun --oversubscribe " + java() + " -Xmx256m -cp '" + MpiRun.rankClasspath() + "' "
                        + RankCheck.class.getName(),
                ""));
        String state = LocalSlurm.submitAndWait(script, 120);
        String text = Files.readString(out);
        System.out.print(text);
        assertEquals("COMPLETED", state, text);
        assertTrue(text.contains("rankcheck: rank 0 ") && text.contains("rankcheck: rank 1 "), text);
        assertTrue(text.lines().filter(l -> l.startsWith("rankcheck:")).allMatch(l -> l.contains("agree=true")
                && l.contains("from OMPI_COMM_WORLD_*") && l.contains("SLURM_PROCID=0")), text);
    }

    @Test
    void srunWithPmix() {
        LocalSlurm.Output o = LocalSlurm.exec(List.of("srun", "--mpi=pmix", "--ntasks=2", "--kill-on-bad-exit=1",
                java(), "-Xmx256m", "-cp", MpiRun.rankClasspath(), RankCheck.class.getName()), Map.of(), 120);
        System.out.print(o.text());
        assertEquals(0, o.exitCode(), o.text());
        assertTrue(o.text().contains("rankcheck: rank 0 ") && o.text().contains("rankcheck: rank 1 "), o.text());
        // srun sets no OMPI_COMM_WORLD_*: the rank must come from PMIX_RANK
        assertTrue(o.text().lines().filter(l -> l.startsWith("rankcheck:")).allMatch(l -> l.contains("agree=true")
                && l.contains("from PMIX_RANK")), o.text());
    }
}
