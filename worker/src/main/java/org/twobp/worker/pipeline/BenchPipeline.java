package org.twobp.worker.pipeline;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.MpiTransport;
import org.twobp.mpi.ReduceOp;
import org.twobp.mpi.Transport;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.ScheduleException;
import org.twobp.worker.schedule.auto.AutoScheduler;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.picture.AsciiTimeline;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.MeasuredCost;
import org.twobp.worker.schedule.sim.MeasuredCosts;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/**
 * The 2BP gain per schedule, measured: for each schedule a baseline (fused backward) and a 2BP
 * trainer run side by side, their steps interleaved (A B A B ...) so that both see the same
 * machine noise, medians reported. Next to each measured speed-up: the simulator's prediction
 * for the same two schedules as the trainer built them (their stages, chunks and p2 sets), fed
 * only with what this run measured — the time of every one of their actions ({@link MeasuredCosts};
 * a p2 over k micro-batches is that call's own time, the optimizer step is the rank's measured
 * norm and update work), each rank's set-up before its first action, and a link measured here by
 * a ping-pong of one activation-sized message. So measured / predicted checks the simulator's ordering and
 * data-dependency rules, and the time the executor spends outside actions, against the pipeline.
 *
 * <p>The statistic: every timed step is replayed with its own action times, and the prediction
 * is the median of those replays, just as the measurement is the median of the steps. The
 * makespan is a max-plus function of the action times, and a loaded machine slows whole steps,
 * so per-action medians can combine times of different steps into one that never ran; a replay
 * per step pairs each measured step with its own prediction. The replay of every action's median
 * time is shown beside it ("pred. med."); on a quiet machine the two agree.
 *
 * <p>Baseline: the same order with every p1 fused with its p2 at the p1's place
 * ({@link org.twobp.worker.schedule.Lowering#fuseBackward}); for the zero-bubble family, which is
 * 2BP by construction, that is the 1F1B-like order they improve on.
 *
 * <pre>
 *   mpirun -np 2 -x OPENBLAS_NUM_THREADS=1 java -cp "launcher/target/lib/*" \
 *       org.twobp.worker.pipeline.BenchPipeline --config configs/llama-small.toml [--rounds 5] [--out runs]
 * </pre>
 */
public final class BenchPipeline {

    /** Every schedule the trainer runs, then the automatic one. */
    static final List<String> DEFAULT_SCHEDULES = defaultSchedules();

    static final int LINK_ROUND_TRIPS = 20;
    private static final int LINK_TAG = 1;

    private BenchPipeline() {
    }

    private static List<String> defaultSchedules() {
        List<String> names = new ArrayList<>();
        for (ScheduleFamily f : ScheduleFamily.values()) {
            names.add(f.cliName());
        }
        names.add("auto");
        return List.copyOf(names);
    }

    /** Runs one schedule's baseline and 2BP trainers interleaved. {@code schedules} null: the named family. */
    static MeasuredArm[] measurePair(Transport t, RunConfig cfg, String family, Schedule[] schedules, int rounds) {
        PipelineTrainer[] trainers = new PipelineTrainer[2];
        CpuBackend[] backends = new CpuBackend[2];
        TokenDataset[] data = new TokenDataset[2];
        List<List<PipelineStepResult>> results = List.of(new ArrayList<>(), new ArrayList<>());
        try {
            for (int v = 0; v < 2; v++) {
                boolean twoBp = v == 1;
                backends[v] = new CpuBackend(1);
                data[v] = Datasets.open(cfg.train().data(), cfg.model().seqLen(), cfg.model().vocabSize(), cfg.train().seed());
                trainers[v] = new PipelineTrainer(t, cfg.model(), cfg.train(), cfg.pipeline().with(family, twoBp),
                        backends[v], null, schedules == null ? null : schedules[v]);
            }
            for (int round = 0; round <= rounds; round++) { // round 0 warms up
                for (int v = 0; v < 2; v++) {
                    t.barrier();
                    PipelineStepResult r = trainers[v].step(data[v].next(trainers[v].globalBatchSize()));
                    if (round > 0) {
                        results.get(v).add(r);
                    }
                }
            }
            MeasuredArm[] out = new MeasuredArm[2];
            for (int v = 0; v < 2; v++) {
                out[v] = MeasuredArm.of(t, trainers[v], backends[v].memory().peakTotal(), results.get(v));
            }
            return out;
        } finally {
            for (int v = 0; v < 2; v++) {
                if (data[v] != null) {
                    data[v].close();
                }
                if (backends[v] != null) {
                    backends[v].close();
                }
            }
        }
    }

    /**
     * One-way time of one message of {@code floats} floats between pipeline neighbours: half the
     * median round trip, median over the neighbour pairs (r, r + 1 mod P). Every message of the
     * executor has this size (one micro-batch's activation or its gradient).
     */
    static double measureLink(Transport t, int floats, int roundTrips) {
        int p = t.size();
        if (p < 2) {
            return 0;
        }
        int pairs = p == 2 ? 1 : p;
        double[] oneWay = new double[pairs];
        FloatBuffer buf = Transport.allocateFloats(floats);
        for (int pair = 0; pair < pairs; pair++) {
            int a = pair;
            int b = (pair + 1) % p;
            t.barrier();
            if (t.rank() != a && t.rank() != b) {
                continue;
            }
            double[] trips = new double[roundTrips];
            for (int i = -3; i < roundTrips; i++) { // three untimed trips set the connection up
                long t0 = System.nanoTime();
                if (t.rank() == a) {
                    buf.clear();
                    t.send(buf, b, LINK_TAG);
                    buf.clear();
                    t.recv(buf, b, LINK_TAG);
                } else {
                    buf.clear();
                    t.recv(buf, a, LINK_TAG);
                    buf.clear();
                    t.send(buf, a, LINK_TAG);
                }
                if (i >= 0) {
                    trips[i] = (System.nanoTime() - t0) / 1e9;
                }
            }
            if (t.rank() == a) {
                oneWay[pair] = MeasuredCosts.median(trips) / 2;
            }
        }
        t.allreduce(oneWay, ReduceOp.SUM);
        return MeasuredCosts.median(oneWay);
    }

    public static void main(String[] args) throws IOException {
        Path config = Path.of("configs/llama-small.toml");
        int rounds = 5;
        Path outDir = Path.of("runs");
        List<String> only = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config" -> config = Path.of(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--out" -> outDir = Path.of(args[++i]);
                case "--schedules" -> only = List.of(args[++i].split(","));
                case "-h", "--help" -> {
                    System.out.println("usage: BenchPipeline [--config FILE] [--rounds N] [--schedules a,b,..] [--out DIR]"
                            + "\n  under mpirun; each schedule with and without 2BP, steps interleaved, medians of N"
                            + " timed steps after one warm-up step (default 5)"
                            + "\n  schedules: " + String.join(",", DEFAULT_SCHEDULES) + " (the default: all)");
                    return;
                }
                default -> {
                    System.err.println("BenchPipeline: unknown argument " + args[i] + "; see --help");
                    System.exit(2);
                }
            }
        }
        if (rounds < 1) {
            System.err.println("BenchPipeline: --rounds " + rounds + " times no step; give at least 1");
            System.exit(2);
        }
        RunConfig cfg = RunConfig.load(config, Map.of("train.threads", "1"));
        MpiTransport t = MpiTransport.init(new String[0]);
        try {
            Report report = run(t, cfg, rounds, only == null ? DEFAULT_SCHEDULES : only, true);
            if (t.rank() == 0) {
                Files.createDirectories(outDir);
                Path file = outDir.resolve("bench-pipeline-"
                        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".txt");
                Files.writeString(file, report.table() + "\n" + report.timelines());
                System.out.println("table and measured vs simulated timelines written to " + file);
            }
        } catch (RuntimeException e) {
            t.abort(1, "bench failed: " + e);
        }
        t.close();
    }

    /** The printed table; the measured and simulated timeline of every arm, for the file. */
    record Report(String table, String timelines, Map<String, Row> rows) {
    }

    /**
     * One line of the table. {@code replays[v][k]}: arm v's timed step k replayed with that step's
     * own action times; {@code medianReplays[v]}: arm v replayed with every action's median time.
     */
    record Row(String label, MeasuredArm[] arms, SimulationResult[][] replays, SimulationResult[] medianReplays) {
        double speedup() {
            return arms[0].medianSeconds() / arms[1].medianSeconds();
        }

        double predicted() {
            return MeasuredCosts.median(makespans(0)) / MeasuredCosts.median(makespans(1));
        }

        double[] makespans(int arm) {
            return Arrays.stream(replays[arm]).mapToDouble(SimulationResult::makespan).toArray();
        }

        /** Median over the replayed steps of the simulated bubble ratio. */
        double simulatedBubble(int arm) {
            return MeasuredCosts.median(Arrays.stream(replays[arm]).mapToDouble(SimulationResult::bubbleRatio).toArray());
        }

        double ratio() {
            return speedup() / predicted();
        }

        double predictedFromMedians() {
            return medianReplays[0].makespan() / medianReplays[1].makespan();
        }

        /** Median over the timed steps of replayed / measured step time: below 1, time outside the replay. */
        double replayedShare(int arm) {
            double[] steps = arms[arm].stepSeconds();
            double[] share = new double[steps.length];
            for (int k = 0; k < steps.length; k++) {
                share[k] = replays[arm][k].makespan() / steps[k];
            }
            return MeasuredCosts.median(share);
        }
    }

    /**
     * The prediction for one measured pair: each arm's own schedule replayed, step by step, with
     * that step's measured action times, and once with the medians, over the measured link.
     */
    static Row row(String label, MeasuredArm[] pair, LinkModel link) {
        SimulationResult[][] replays = new SimulationResult[pair.length][];
        SimulationResult[] medians = new SimulationResult[pair.length];
        for (int v = 0; v < pair.length; v++) {
            MeasuredArm arm = pair[v];
            replays[v] = arm.steps().stream().map(step -> new Simulator(step, link).run(arm.schedule()))
                    .toArray(SimulationResult[]::new);
            medians[v] = new Simulator(arm.costs(), link).run(arm.schedule());
        }
        return new Row(label, pair, replays, medians);
    }

    static Report run(Transport t, RunConfig cfg, int rounds, List<String> schedules, boolean print) {
        for (String name : schedules) {
            if (!name.equals("auto")) {
                ScheduleFamily.byName(name); // a typo fails before anything is measured
            }
        }
        int messageFloats = cfg.train().microBatchSize() * cfg.model().seqLen() * cfg.model().dim();
        double linkSeconds = measureLink(t, messageFloats, LINK_ROUND_TRIPS);
        LinkModel link = LinkModel.fixed(linkSeconds);
        StringBuilder out = new StringBuilder();
        String header = String.format(Locale.ROOT, "%-28s %3s %3s %9s %9s %8s %9s %6s %9s %15s %15s %15s %21s%n",
                "schedule", "V", "M", "tok/s", "tok/s 2BP", "speed-up", "predicted", "ratio", "pred. med",
                "replayed/step", "bubble meas.", "bubble sim.", "peak MiB per rank");
        String intro = String.format(Locale.ROOT, "2BP speed-up per schedule: %s, %d ranks, %d timed steps per arm"
                        + " (after one warm-up step, interleaved with the other arm; medians), micro-batch %d x %d"
                        + " tokens%n"
                        + "predicted = each arm's schedule as it ran, every timed step replayed by the simulator with"
                        + " that step's measured action and set-up times, median of the replays,%n"
                        + "  link %.0f us per message (ping-pong of one %d KiB activation here); ratio = measured /"
                        + " predicted; pred. med = one replay with every action's median time%n"
                        + "replayed/step = median of replayed / measured step time (below 100%%: time the replay"
                        + " lacks: waits for sends and the gradient-norm all-reduce)%n"
                        + "columns with two values: baseline -> 2BP; baseline = the same order with each p1 fused with"
                        + " its p2 (zb-*: the 1F1B-like order they improve on)%n",
                cfg.model().name(), t.size(), rounds, cfg.train().microBatchSize(), cfg.model().seqLen(),
                linkSeconds * 1e6, messageFloats * Float.BYTES / 1024);
        if (print && t.rank() == 0) {
            System.out.print(intro + header);
            System.out.flush();
        }
        out.append(intro).append(header);
        StringBuilder timelines = new StringBuilder();
        Map<String, MeasuredArm[]> measured = new LinkedHashMap<>();
        Map<String, Row> rows = new LinkedHashMap<>();
        for (String name : schedules) {
            Schedule[] explicit = null;
            String family = name;
            if (name.equals("auto")) {
                explicit = autoSchedules(t, cfg, measured, link);
                family = "1f1b-1";
            }
            MeasuredArm[] pair = measurePair(t, cfg, family, explicit, rounds);
            measured.put(name, pair);
            String label = explicit != null ? "auto (" + pair[1].schedule().name() + ")"
                    : pair[1].schedule().name().replace(" + 2BP", "");
            Row row = row(label, pair, link);
            rows.put(name, row);
            String line = line(row);
            if (print && t.rank() == 0) {
                System.out.print(line);
                System.out.flush();
            }
            out.append(line);
            timelines.append(timelines(row));
        }
        Row worst = rows.values().stream().min((a, b) -> Double.compare(a.ratio(), b.ratio())).orElse(null);
        Row best = rows.values().stream().max((a, b) -> Double.compare(a.ratio(), b.ratio())).orElse(null);
        if (worst != null) {
            String line = String.format(Locale.ROOT, "ratio from %.1f%% (%s) to %.1f%% (%s); the measured and replayed"
                            + " median step of every arm is in the table's file%n", 100 * worst.ratio(), worst.label(),
                    100 * best.ratio(), best.label());
            if (print && t.rank() == 0) {
                System.out.print(line);
            }
            out.append(line);
        }
        return new Report(out.toString(), timelines.toString(), rows);
    }

    /**
     * The automatic schedule (and its no-2BP form) for per-stage costs from what has been measured
     * so far, under 1F1B's memory cap. It needs p1 and a one-micro-batch p2 timed on every stage;
     * naive runs them, so it is measured first when nothing measured has them.
     */
    static Schedule[] autoSchedules(Transport t, RunConfig cfg, Map<String, MeasuredArm[]> measured, LinkModel link) {
        int ranks = t.size();
        CostModel costs;
        try {
            costs = perStageCosts(measured, ranks);
        } catch (ScheduleException e) {
            measured.put("naive (for auto)", measurePair(t, cfg, "naive", null, 1));
            costs = perStageCosts(measured, ranks);
        }
        AutoScheduler auto = new AutoScheduler(costs, link, ranks);
        int m = ranks;
        return new Schedule[] {auto.schedule(ranks, m, false).schedule(), auto.schedule(ranks, m, true).schedule()};
    }

    /** Per-stage costs of the one-stage-per-rank arms measured so far: each action's median is one sample. */
    static CostModel perStageCosts(Map<String, MeasuredArm[]> measured, int ranks) {
        List<MeasuredCost> list = new ArrayList<>();
        for (MeasuredArm[] pair : measured.values()) {
            for (MeasuredArm arm : pair) {
                Schedule s = arm.schedule();
                if (s.stages() != ranks) {
                    continue;
                }
                for (int r = 0; r < s.ranks(); r++) {
                    for (Action a : s.actions(r)) {
                        if (a.isCompute()) {
                            list.add(new MeasuredCost(a.stage(), s.stages(), a.kind(), a.microbatches().size(),
                                    arm.costs().seconds(r, a)));
                        }
                    }
                }
            }
        }
        return CostModel.fromMeasurements(list);
    }

    static String line(Row row) {
        MeasuredArm[] pair = row.arms();
        StringBuilder peaks = new StringBuilder();
        for (int r = 0; r < pair[0].peakBytesByRank().length; r++) {
            peaks.append(r == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.0f->%.0f",
                    pair[0].peakBytesByRank()[r] / 1048576.0, pair[1].peakBytesByRank()[r] / 1048576.0));
        }
        String label = row.label().length() > 28 ? row.label().substring(0, 28) : row.label();
        Schedule s = pair[1].schedule();
        return String.format(Locale.ROOT,
                "%-28s %3d %3d %9.0f %9.0f %7.3fx %8.3fx %5.1f%% %8.3fx %5.1f%% -> %4.1f%% %5.1f%% -> %4.1f%%"
                        + " %5.1f%% -> %4.1f%% %21s%n",
                label, s.chunksPerRank(), s.microbatches(), pair[0].tokensPerSecond(), pair[1].tokensPerSecond(),
                row.speedup(), row.predicted(), 100 * row.ratio(), row.predictedFromMedians(),
                100 * row.replayedShare(0), 100 * row.replayedShare(1),
                100 * pair[0].bubble(), 100 * pair[1].bubble(), 100 * row.simulatedBubble(0), 100 * row.simulatedBubble(1),
                peaks);
    }

    /** Both arms of a row: the measured step of median time above its replay, and that step's action times. */
    static String timelines(Row row) {
        StringBuilder sb = new StringBuilder();
        for (int v = 0; v < 2; v++) {
            MeasuredArm arm = row.arms()[v];
            int k = MeasuredArm.medianIndex(arm.stepSeconds());
            MeasuredCosts step = arm.steps().get(k);
            SimulationResult replay = row.replays()[v][k];
            sb.append(String.format(Locale.ROOT, "%s: timed step %d of %d (the median), measured %.3f s, replayed %.3f s;"
                            + " every action's median time replays in %.3f s%n", arm.schedule().name(), k + 1,
                    arm.stepSeconds().length, arm.stepSeconds()[k], replay.makespan(),
                    row.medianReplays()[v].makespan()));
            sb.append("measured (each action from the end of its wait for a peer):\n")
                    .append(AsciiTimeline.render(arm.medianStep(), 150));
            sb.append("replayed:\n").append(AsciiTimeline.render(replay, 150));
            sb.append("measured seconds per action in this step:\n").append(costLines(step)).append('\n');
        }
        return sb.toString();
    }

    /** The replay's input, as "rank R: action=seconds ..." lines. */
    static String costLines(MeasuredCosts costs) {
        StringBuilder sb = new StringBuilder();
        Schedule s = costs.schedule();
        for (int r = 0; r < s.ranks(); r++) {
            sb.append("rank ").append(r).append(':');
            for (Action a : s.actions(r)) {
                if (!a.kind().isReceive()) {
                    sb.append(String.format(Locale.ROOT, " %s=%.4f", s.text(a), costs.seconds(r, a)));
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
