package org.twobp.tests.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.twobp.mpi.ThreadTransport;
import org.twobp.mpi.Transport;
import org.twobp.mpi.TransportAbortedException;

/** The transport contract with ranks as threads in this JVM. */
class ThreadTransportContractTest {

    static Stream<Arguments> checks() {
        return Stream.of(2, 3, 4).flatMap(n -> TransportContract.CHECKS.stream().map(c -> Arguments.of(n, c)));
    }

    @ParameterizedTest(name = "{1} on {0} thread ranks")
    @MethodSource("checks")
    void contract(int ranks, TransportContract.Check check) {
        ThreadTransport.run(ranks, t -> {
            t.setTimeout(Duration.ofSeconds(60));
            check.body().run(t);
        });
    }

    @Test
    void abortFromOneRankEndsEveryRank() {
        long start = System.nanoTime();
        TransportAbortedException e = assertThrows(TransportAbortedException.class, () ->
                ThreadTransport.run(4, t -> {
                    t.setTimeout(Duration.ofSeconds(120));
                    t.barrier();
                    if (t.rank() == 3) {
                        TransportContract.sleep(200);
                        t.abort(17, "deliberate abort");
                    } else {
                        t.recv(Transport.allocateFloats(1), 3, 99);
                    }
                }));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(17, e.exitCode());
        assertEquals(3, e.abortingRank());
        assertTrue(e.getMessage().contains("deliberate abort"), e.getMessage());
        assertEquals(3, e.getSuppressed().length, "the three waiting ranks fail too");
        assertTrue(seconds < 5, "abort took " + seconds + " s to end every rank");
    }

    @Test
    void failingRankEndsEveryRankAndIsTheReportedCause() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () ->
                ThreadTransport.run(3, t -> {
                    t.setTimeout(Duration.ofSeconds(120));
                    if (t.rank() == 1) {
                        throw new IllegalStateException("bad data on rank 1");
                    }
                    t.recv(Transport.allocateFloats(1), 1, 5);
                }));
        assertEquals("bad data on rank 1", e.getMessage());
        assertEquals(2, e.getSuppressed().length);
        for (Throwable s : e.getSuppressed()) {
            assertTrue(s instanceof TransportAbortedException, s.toString());
        }
    }
}
