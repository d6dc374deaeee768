package org.twobp.worker.schedule;

import java.nio.file.Path;
import java.util.Locale;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.sim.ConcatModel;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;

/** The options of {@code twobp simulate}, parsed by hand (no dependency needed for a dozen flags). */
final class SimulateArguments {
    static final String USAGE = """
            usage: twobp simulate [options]
              Simulate a pipeline schedule without hardware and draw its timeline.

              --schedule NAME       %s, auto (default 1f1b-1)
              --2bp                 split the backward into p1 and p2 (default: fused backward, no 2BP)
              --stages P            pipeline stages = ranks (default 4)
              --microbatches M      micro-batches per step (default: the schedule's own, e.g. 2P for 1f1b-2)
              --chunks V            chunks per rank for interleaved (default 2)
              --stash-cap C         live stashes per rank allowed by 1f1b-2-capped (default P)
              --memory-cap C        live stashes per rank allowed by auto (default: no cap)
              --costs SPEC          per micro-batch and stage: f=1,i=1,w=1[,b=2]; colons give one value per
                                    stage (f=1:1:1:1.5); default the paper's f=1,i=1,w=1, b=i+w
              --concat SPEC         p2 over k micro-batches: linear (default), overhead=0.3 (fixed share of
                                    each call), or measured=1:1.8:2.5 (time of k over time of one)
              --comm T              time of one transfer between ranks (default 0)
              --latency T           link latency, with --bandwidth and --message-bytes
              --bandwidth B         link bytes per second
              --message-bytes N     bytes of one activation (or gradient) message
              --stash-bytes N       bytes one micro-batch keeps stashed per stage (reports peak bytes)
              --load FILE           simulate a schedule from a CSV file instead of generating one
              --csv FILE            write the schedule as CSV (compute actions, lined up in time)
              --png FILE            draw the timeline without and with 2BP, one above the other (Figure 1)
              --compare             table of makespan, bubble ratio, peak stash and 2BP speed-up for every
                                    schedule (each at its own M unless --microbatches is given)
              --sweep-cap           for 1f1b-2-capped: makespan and peak stash for every cap 1..M
              --width N             columns of the terminal timeline (default 150)
              --help                this text

              Exit status: 0 done, 1 invalid schedule or file, 2 usage error.
            """.formatted(ScheduleFamily.names());

    /** A bad command line: the message says what was wrong; exit status 2. */
    static final class UsageError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageError(String message) {
            super(message);
        }
    }

    boolean help;
    String schedule = "1f1b-1";
    boolean twoBp;
    int stages = 4;
    Integer microbatches;
    int chunks = 2;
    Integer stashCap;
    double memoryCap = Double.POSITIVE_INFINITY;
    CostModel costs = CostModel.paperIdealised();
    ConcatModel concat = ConcatModel.linear();
    Double comm;
    Double latency;
    Double bandwidth;
    double messageBytes;
    Double stashBytes;
    Path load;
    Path csv;
    Path png;
    boolean compare;
    boolean sweepCap;
    int width = 150;

    static SimulateArguments parse(String[] args) {
        SimulateArguments a = new SimulateArguments();
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            String value = null;
            int eq = flag.indexOf('=');
            if (flag.startsWith("--") && eq > 0) {
                value = flag.substring(eq + 1);
                flag = flag.substring(0, eq);
            }
            switch (flag) {
                case "--help", "-h" -> a.help = true;
                case "--2bp" -> a.twoBp = true;
                case "--compare" -> a.compare = true;
                case "--sweep-cap" -> a.sweepCap = true;
                default -> {
                    if (value == null) {
                        if (i + 1 >= args.length || !isFlagWithValue(flag)) {
                            throw new UsageError(isFlagWithValue(flag) ? flag + " needs a value"
                                    : "unknown option '" + args[i] + "'");
                        }
                        value = args[++i];
                    }
                    a.set(flag, value);
                }
            }
        }
        if (a.stages < 1) {
            throw new UsageError("--stages must be at least 1, got " + a.stages);
        }
        if (a.microbatches != null && a.microbatches < 1) {
            throw new UsageError("--microbatches must be at least 1, got " + a.microbatches);
        }
        if (a.chunks < 1) {
            throw new UsageError("--chunks must be at least 1, got " + a.chunks);
        }
        if (a.stashCap != null && a.stashCap < 1) {
            throw new UsageError("--stash-cap must be at least 1, got " + a.stashCap);
        }
        if (!(a.memoryCap > 0)) {
            throw new UsageError("--memory-cap must be positive, got " + a.memoryCap);
        }
        if (a.comm != null && (a.latency != null || a.bandwidth != null)) {
            throw new UsageError("give either --comm or --latency/--bandwidth, not both");
        }
        if (!a.schedule.equals("auto")) {
            try {
                ScheduleFamily.byName(a.schedule);
            } catch (ScheduleException e) {
                throw new UsageError(e.getMessage() + ", auto");
            }
        }
        return a;
    }

    private static boolean isFlagWithValue(String flag) {
        return switch (flag) {
            case "--schedule", "--stages", "--microbatches", "--chunks", "--stash-cap", "--memory-cap", "--costs",
                    "--concat", "--comm", "--latency", "--bandwidth", "--message-bytes", "--stash-bytes", "--load",
                    "--csv", "--png", "--width" -> true;
            default -> false;
        };
    }

    private void set(String flag, String value) {
        switch (flag) {
            case "--schedule" -> schedule = value.toLowerCase(Locale.ROOT);
            case "--stages" -> stages = integer(flag, value);
            case "--microbatches" -> microbatches = integer(flag, value);
            case "--chunks" -> chunks = integer(flag, value);
            case "--stash-cap" -> stashCap = integer(flag, value);
            case "--memory-cap" -> memoryCap = number(flag, value);
            case "--costs" -> costs = parsed(flag, value, () -> CostModel.parse(value));
            case "--concat" -> concat = parsed(flag, value, () -> concat(value));
            case "--comm" -> comm = nonNegative(flag, value);
            case "--latency" -> latency = nonNegative(flag, value);
            case "--bandwidth" -> bandwidth = number(flag, value);
            case "--message-bytes" -> messageBytes = nonNegative(flag, value);
            case "--stash-bytes" -> stashBytes = nonNegative(flag, value);
            case "--load" -> load = Path.of(value);
            case "--csv" -> csv = Path.of(value);
            case "--png" -> png = Path.of(value);
            case "--width" -> width = integer(flag, value);
            default -> throw new UsageError("unknown option '" + flag + "'");
        }
    }

    /** The cost model with the concatenation and byte options applied. */
    CostModel costModel() {
        CostModel c = costs.withConcat(concat).withMessageBytes(messageBytes);
        return stashBytes == null ? c : c.withStashBytes(stashBytes);
    }

    LinkModel link() {
        if (comm != null) {
            return LinkModel.fixed(comm);
        }
        if (latency == null && bandwidth == null) {
            return LinkModel.free();
        }
        return new LinkModel(latency == null ? 0 : latency, bandwidth == null ? Double.POSITIVE_INFINITY : bandwidth);
    }

    private static ConcatModel concat(String spec) {
        String s = spec.strip().toLowerCase(Locale.ROOT);
        if (s.equals("linear")) {
            return ConcatModel.linear();
        }
        if (s.startsWith("overhead=")) {
            return ConcatModel.perCallOverhead(Double.parseDouble(s.substring("overhead=".length())));
        }
        if (s.startsWith("measured=")) {
            String[] parts = s.substring("measured=".length()).split(":");
            double[] factors = new double[parts.length];
            for (int k = 0; k < parts.length; k++) {
                factors[k] = Double.parseDouble(parts[k]);
            }
            return ConcatModel.measured(factors);
        }
        throw new ScheduleException("write linear, overhead=FRACTION or measured=1:F2:F3...");
    }

    private interface Parser<T> {
        T parse();
    }

    private static <T> T parsed(String flag, String value, Parser<T> parser) {
        try {
            return parser.parse();
        } catch (ScheduleException | NumberFormatException e) {
            throw new UsageError("bad " + flag + " '" + value + "': " + e.getMessage());
        }
    }

    private static int integer(String flag, String value) {
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new UsageError(flag + " needs a whole number, got '" + value + "'");
        }
    }

    private static double number(String flag, String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        if (v.equals("inf") || v.equals("none")) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageError(flag + " needs a number, got '" + value + "'");
        }
    }

    private static double nonNegative(String flag, String value) {
        double v = number(flag, value);
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new UsageError(flag + " needs a finite number >= 0, got '" + value + "'");
        }
        return v;
    }
}
