package org.twobp.tests.transport;

import java.nio.FloatBuffer;
import java.time.Duration;

import org.twobp.mpi.MpiTransport;
import org.twobp.mpi.Transport;

/**
 * Runs {@link TransportContract} under real MPI, one process per rank:
 * <pre>
 *   mpirun -np 4 java -cp ... org.twobp.tests.transport.ContractMain checks
 *   mpirun -np 4 java -cp ... org.twobp.tests.transport.ContractMain abort   (the last rank aborts)
 *   mpirun -np 4 java -cp ... org.twobp.tests.transport.ContractMain die     (the last rank exits without a word)
 * </pre>
 * For {@code checks}, rank 0 prints {@code contract: NAME OK} per check; a failing check aborts
 * the job with exit code 4 after printing {@code contract: NAME FAILED}.
 */
public final class ContractMain {

    static final int ABORT_CODE = 17;

    private ContractMain() {
    }

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "checks";
        MpiTransport t = MpiTransport.init(new String[0]);
        switch (mode) {
            case "checks" -> checks(t);
            case "abort", "die" -> failOneRank(t, mode);
            default -> {
                System.err.println("ContractMain: unknown mode '" + mode + "' (checks, abort, die)");
                t.abort(2, "bad arguments");
            }
        }
        t.close();
    }

    static void checks(Transport t) {
        if (t.rank() == 0) {
            System.out.println("contract: " + t.size() + " ranks, " + t.rankInfo() + ", max tag " + t.maxTag());
        }
        t.setTimeout(Duration.ofSeconds(60));
        for (TransportContract.Check c : TransportContract.CHECKS) {
            long start = System.nanoTime();
            try {
                c.body().run(t);
            } catch (Throwable e) {
                System.out.println("contract: " + c.name() + " FAILED on rank " + t.rank() + ": " + e);
                e.printStackTrace(System.out);
                System.out.flush();
                t.abort(4, "contract check " + c.name() + " failed: " + e.getMessage());
            }
            t.barrier();
            if (t.rank() == 0) {
                System.out.printf("contract: %s OK (%.0f ms)%n", c.name(), (System.nanoTime() - start) / 1e6);
                System.out.flush();
            }
        }
    }

    /**
     * Every rank but the last waits in a receive from the last rank (with a long timeout), which
     * then aborts or simply exits. The job must end promptly with a non-zero exit code.
     */
    static void failOneRank(Transport t, String mode) {
        int last = t.size() - 1;
        t.setTimeout(Duration.ofSeconds(120));
        t.barrier();
        if (t.rank() == last) {
            TransportContract.sleep(500); // the others are inside their receives by now
            if (mode.equals("abort")) {
                System.out.println("contract: rank " + t.rank() + " calls abort at " + System.currentTimeMillis());
                System.out.flush();
                t.abort(ABORT_CODE, "deliberate abort from the contract test");
            } else {
                System.out.println("contract: rank " + t.rank() + " exits without finalising at " + System.currentTimeMillis());
                System.out.flush();
                Runtime.getRuntime().halt(9);
            }
        } else {
            FloatBuffer never = Transport.allocateFloats(1);
            t.recv(never, last, 99);
            System.out.println("contract: rank " + t.rank() + " received a message that was never sent");
        }
    }
}
