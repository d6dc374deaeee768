package org.twobp.mpi;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Measures the links between ranks: ping-pong latency and bandwidth from rank 0 to every other
 * rank over a range of message sizes, and the cost of a small all-reduce and a barrier.
 * Received data is checked, so a run that prints figures also proved the bytes arrived intact.
 *
 * <pre>
 *   mpirun -np 2 java -cp "launcher/target/lib/*" org.twobp.mpi.SelfTest
 *   java -cp ... org.twobp.mpi.SelfTest --threads 2      (in-process ranks, no MPI)
 * </pre>
 */
public final class SelfTest {

    static final int TAG_PING = 101;
    static final int TAG_PONG = 102;
    static final int TAG_NAME = 103;

    private SelfTest() {
    }

    /** What a self-test run is asked to do. */
    record Options(int threads, long maxBytes, double seconds) {
        static Options parse(String[] args) {
            int threads = 0;
            long maxBytes = 64L << 20;
            double seconds = 0.25;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--threads" -> threads = Integer.parseInt(value(args, ++i, "--threads"));
                    case "--max-bytes" -> maxBytes = parseBytes(value(args, ++i, "--max-bytes"));
                    case "--seconds" -> seconds = Double.parseDouble(value(args, ++i, "--seconds"));
                    case "-h", "--help" -> {
                        System.out.println(usage());
                        System.exit(0);
                    }
                    default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'\n" + usage());
                }
            }
            if (maxBytes < 8 || maxBytes > (1L << 30)) {
                throw new IllegalArgumentException("--max-bytes must be between 8 and 1G, got " + maxBytes);
            }
            return new Options(threads, maxBytes, seconds);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value\n" + usage());
            }
            return args[i];
        }

        static String usage() {
            return """
                    usage: SelfTest [--threads N] [--max-bytes SIZE] [--seconds S]
                      Start it with mpirun (one process per rank), or with --threads N for N in-process ranks.
                      --max-bytes SIZE  largest message, e.g. 64M (default 64M)
                      --seconds S       time spent per message size (default 0.25)""";
        }
    }

    static long parseBytes(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("K")) {
            unit = 1L << 10;
        } else if (t.endsWith("M")) {
            unit = 1L << 20;
        } else if (t.endsWith("G")) {
            unit = 1L << 30;
        }
        if (unit != 1) {
            t = t.substring(0, t.length() - 1);
        }
        return Long.parseLong(t) * unit;
    }

    /** One measured message size between rank 0 and a peer. */
    public record Link(int peer, long bytes, double oneWayMicros, double gigabytesPerSecond) {
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("SelfTest: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (options.threads() > 0) {
            ThreadTransport.run(options.threads(), t -> run(t, options, "in-process threads"));
            return;
        }
        MpiTransport t = MpiTransport.init(args);
        try {
            run(t, options, MpiTransport.libraryVersion().lines().findFirst().orElse("MPI"));
        } catch (RuntimeException e) {
            t.abort(3, "self-test failed: " + e);
        }
        t.close();
    }

    static void run(Transport t, Options options, String kind) {
        List<String> where = describeRanks(t);
        List<Link> links = new ArrayList<>();
        for (int peer = 1; peer < t.size(); peer++) {
            pingPong(t, peer, 8, options.seconds()); // warm-up: JIT and connection set-up are not latency
            for (long bytes = 8; bytes <= options.maxBytes(); bytes *= (bytes < 1024 ? 8 : 4)) {
                Link l = pingPong(t, peer, (int) bytes, options.seconds());
                if (l != null) {
                    links.add(l);
                }
            }
        }
        double allreduceMicros = timeAllreduce(t);
        double barrierMicros = timeBarrier(t);
        if (t.rank() == 0) {
            System.out.print(report(t.size(), kind, where, links, allreduceMicros, barrierMicros));
            System.out.flush();
        }
    }

    static List<String> describeRanks(Transport t) {
        String host = hostName();
        String mine = String.format(Locale.ROOT, "rank %d  host %s  pid %d  %s", t.rank(), host,
                ProcessHandle.current().pid(), t.rankInfo());
        List<String> all = new ArrayList<>();
        if (t.rank() == 0) {
            all.add(mine);
            ByteBuffer buf = Transport.allocateBytes(4096);
            for (int r = 1; r < t.size(); r++) {
                buf.clear();
                int n = t.recv(buf, r, TAG_NAME);
                byte[] b = new byte[n];
                buf.get(0, b);
                all.add(new String(b, StandardCharsets.UTF_8));
            }
        } else {
            byte[] b = mine.getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = Transport.allocateBytes(b.length);
            buf.put(b).flip();
            t.send(buf, 0, TAG_NAME);
        }
        return all;
    }

    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "unknown-host";
        }
    }

    /** Rank 0 and {@code peer} bounce a message; everyone else waits. Returns null off rank 0. */
    static Link pingPong(Transport t, int peer, int bytes, double seconds) {
        ByteBuffer buf = Transport.allocateBytes(bytes);
        boolean active = t.rank() == 0 || t.rank() == peer;
        // the number of round trips is fixed by rank 0 from a short trial and shared
        double[] rounds = {0};
        if (active) {
            fill(buf, bytes);
            bounce(t, peer, buf, 3); // warm-up
            long start = System.nanoTime();
            bounce(t, peer, buf, 3);
            double perRound = (System.nanoTime() - start) / 3e9;
            rounds[0] = t.rank() == 0 ? Math.max(3, Math.min(100_000, Math.ceil(seconds / Math.max(perRound, 1e-9)))) : 0;
        }
        t.allreduce(rounds, ReduceOp.MAX);
        if (!active) {
            return null;
        }
        int n = (int) rounds[0];
        long start = System.nanoTime();
        bounce(t, peer, buf, n);
        double oneWay = (System.nanoTime() - start) / 1e3 / (2.0 * n);
        verify(t, peer, buf, bytes);
        return new Link(peer, bytes, oneWay, bytes / (oneWay * 1e3));
    }

    private static void bounce(Transport t, int peer, ByteBuffer buf, int rounds) {
        for (int i = 0; i < rounds; i++) {
            buf.clear();
            if (t.rank() == 0) {
                t.send(buf, peer, TAG_PING);
                buf.clear();
                t.recv(buf, peer, TAG_PONG);
            } else {
                t.recv(buf, 0, TAG_PING);
                buf.clear();
                t.send(buf, 0, TAG_PONG);
            }
        }
    }

    private static void fill(ByteBuffer buf, int bytes) {
        for (int i = 0; i < bytes; i++) {
            buf.put(i, (byte) (i * 31 + 7));
        }
    }

    private static void verify(Transport t, int peer, ByteBuffer buf, int bytes) {
        for (int i = 0; i < bytes; i += Math.max(1, bytes / 4096)) {
            if (buf.get(i) != (byte) (i * 31 + 7)) {
                throw new TransportException("self-test verify", t.rank(), peer, TAG_PONG, bytes,
                        "byte " + i + " arrived corrupted");
            }
        }
    }

    static double timeAllreduce(Transport t) {
        double[] v = new double[1];
        for (int i = 0; i < 10; i++) {
            v[0] = t.rank() + 1;
            t.allreduce(v, ReduceOp.SUM);
        }
        double expect = t.size() * (t.size() + 1) / 2.0;
        if (v[0] != expect) {
            throw new TransportException("self-test allreduce", t.rank(), TransportException.NONE,
                    TransportException.NONE, 8, "sum is " + v[0] + ", expected " + expect);
        }
        int n = 200;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            t.allreduce(v, ReduceOp.MAX);
        }
        return (System.nanoTime() - start) / 1e3 / n;
    }

    static double timeBarrier(Transport t) {
        for (int i = 0; i < 10; i++) {
            t.barrier();
        }
        int n = 200;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            t.barrier();
        }
        return (System.nanoTime() - start) / 1e3 / n;
    }

    static String report(int size, String kind, List<String> where, List<Link> links,
                         double allreduceMicros, double barrierMicros) {
        StringBuilder s = new StringBuilder();
        s.append("twobp transport self-test: ").append(size).append(" ranks over ").append(kind).append('\n');
        for (String w : where) {
            s.append("  ").append(w).append('\n');
        }
        s.append(String.format(Locale.ROOT, "%-10s %12s %16s %14s%n", "link", "message", "one-way (us)", "GB/s"));
        for (Link l : links) {
            s.append(String.format(Locale.ROOT, "%-10s %12s %16.2f %14.3f%n", "0 <-> " + l.peer(),
                    humanBytes(l.bytes()), l.oneWayMicros(), l.gigabytesPerSecond()));
        }
        Link small = links.stream().filter(l -> l.bytes() == 8).findFirst().orElse(null);
        Link large = links.stream().max((a, b) -> Double.compare(a.gigabytesPerSecond(), b.gigabytesPerSecond())).orElse(null);
        if (small != null && large != null) {
            s.append(String.format(Locale.ROOT, "latency (8 B, one way): %.2f us   peak bandwidth: %.3f GB/s at %s%n",
                    small.oneWayMicros(), large.gigabytesPerSecond(), humanBytes(large.bytes())));
        }
        s.append(String.format(Locale.ROOT, "allreduce (1 double): %.2f us   barrier: %.2f us%n", allreduceMicros, barrierMicros));
        s.append("self-test: OK\n");
        return s.toString();
    }

    static String humanBytes(long b) {
        if (b >= (1L << 20) && b % (1L << 20) == 0) {
            return (b >> 20) + " MiB";
        }
        if (b >= 1024 && b % 1024 == 0) {
            return (b >> 10) + " KiB";
        }
        return b + " B";
    }

}
