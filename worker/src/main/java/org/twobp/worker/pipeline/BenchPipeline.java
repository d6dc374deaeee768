package org.twobp.worker.pipeline;

import java.io.IOException;
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
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.auto.AutoScheduler;
import org.twobp.worker.schedule.sim.CostModel;
import org.twobp.worker.schedule.sim.LinkModel;
import org.twobp.worker.schedule.sim.MeasuredCost;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

/**
 * The 2BP gain per schedule, measured: for each schedule a baseline (fused backward) and a 2BP
 * trainer run side by side, their steps interleaved (A B A B ...) so that both see the same
 * machine noise, medians reported. Next to each measured speed-up: the simulator's prediction
 * for the same schedule, fed with the per-action costs measured in this very run.
 *
 * <pre>
 *   mpirun -np 2 -x OPENBLAS_NUM_THREADS=1 java -cp "launcher/target/lib/*" \
 *       org.twobp.worker.pipeline.BenchPipeline --config configs/llama-small.toml [--rounds 5] [--out runs]
 * </pre>
 */
public final class BenchPipeline {

    static final ActionKind[] KINDS = {ActionKind.F, ActionKind.I, ActionKind.W, ActionKind.B};

    private BenchPipeline() {
    }

    /** One measured variant (baseline or 2BP) of one schedule. */
    record Variant(String name, int microbatches, double medianSeconds, double tokensPerSecond, double bubble,
                   long[] peakBytesByRank, double optimizerSeconds, double[] costSums) {
    }

    /** Runs one schedule's baseline and 2BP trainers interleaved. {@code schedules} null: the named family. */
    static Variant[] measurePair(Transport t, RunConfig cfg, String family, Schedule[] schedules, int rounds) {
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
            Variant[] out = new Variant[2];
            for (int v = 0; v < 2; v++) {
                out[v] = summarise(t, trainers[v], backends[v], results.get(v));
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

    static Variant summarise(Transport t, PipelineTrainer trainer, CpuBackend backend, List<PipelineStepResult> rs) {
        double[] seconds = rs.stream().mapToDouble(r -> r.stepNanos() / 1e9).sorted().toArray();
        double median = seconds[seconds.length / 2];
        double bubble = rs.stream().mapToDouble(PipelineStepResult::bubbleMean).sorted().toArray()[rs.size() / 2];
        double opt = rs.stream().mapToDouble(r -> r.optimizerNanos() / 1e9).sorted().toArray()[rs.size() / 2];
        Schedule s = trainer.schedule();
        int stages = s.stages();
        int m = s.microbatches();
        // compute time per (stage, kind, micro-batches in the call): sums and counts, gathered over ranks
        double[] sums = new double[stages * KINDS.length * (m + 1) * 2];
        for (PipelineStepResult r : rs) {
            for (ActionTiming a : r.timings()) {
                int k = Arrays.asList(KINDS).indexOf(a.action().kind());
                if (k < 0) {
                    continue;
                }
                int idx = ((a.action().stage() * KINDS.length + k) * (m + 1) + a.action().microbatches().size()) * 2;
                sums[idx] += a.computeNanos() / 1e9;
                sums[idx + 1] += 1;
            }
        }
        t.allreduce(sums, ReduceOp.SUM);
        double[] peaks = new double[t.size()];
        peaks[t.rank()] = backend.memory().peakTotal();
        t.allreduce(peaks, ReduceOp.SUM);
        long[] peakBytes = Arrays.stream(peaks).mapToLong(d -> (long) d).toArray();
        double tokens = trainer.globalBatchSize() * (double) trainer.modelConfig().seqLen();
        return new Variant(s.name(), m, median, tokens / median, bubble, peakBytes, opt, sums);
    }

    /** The measured costs of both variants as the simulator's input. */
    static CostModel costs(Variant[] pair, int stages) {
        List<MeasuredCost> list = new ArrayList<>();
        for (Variant v : pair) {
            int m = v.microbatches();
            for (int s = 0; s < stages; s++) {
                for (int k = 0; k < KINDS.length; k++) {
                    for (int n = 1; n <= m; n++) {
                        int idx = ((s * KINDS.length + k) * (m + 1) + n) * 2;
                        if (v.costSums()[idx + 1] > 0) {
                            list.add(new MeasuredCost(s, stages, KINDS[k], n, v.costSums()[idx] / v.costSums()[idx + 1]));
                        }
                    }
                }
            }
        }
        double opt = (pair[0].optimizerSeconds() + pair[1].optimizerSeconds()) / 2;
        double[] step = new double[stages];
        Arrays.fill(step, opt);
        return CostModel.fromMeasurements(list).withOptimizerStep(step);
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
                            + "\n  under mpirun; every schedule with and without 2BP, steps interleaved, medians");
                    return;
                }
                default -> {
                    System.err.println("BenchPipeline: unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        RunConfig cfg = RunConfig.load(config, Map.of("train.threads", "1"));
        MpiTransport t = MpiTransport.init(new String[0]);
        try {
            String table = run(t, cfg, rounds, only == null
                    ? List.of("naive", "gpipe", "1f1b-1", "1f1b-2", "1f1b-2-capped", "zb-h1", "zb-h2", "auto") : only);
            if (t.rank() == 0) {
                Files.createDirectories(outDir);
                Path file = outDir.resolve("bench-pipeline-"
                        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".txt");
                Files.writeString(file, table);
                System.out.println("table written to " + file);
            }
        } catch (RuntimeException e) {
            t.abort(1, "bench failed: " + e);
        }
        t.close();
    }

    static String run(Transport t, RunConfig cfg, int rounds, List<String> schedules) {
        StringBuilder out = new StringBuilder();
        String header = String.format(Locale.ROOT, "%-28s %3s %9s %9s %8s %9s %6s %15s %15s %21s%n", "schedule", "M",
                "tok/s", "tok/s 2BP", "speed-up", "predicted", "ratio", "bubble meas.", "bubble sim.",
                "peak MiB per rank");
        String intro = String.format(Locale.ROOT, "2BP speed-up per schedule: %s, %d ranks, %d timed steps per variant"
                        + " (interleaved with the baseline; medians), micro-batch %d x %d tokens%n"
                        + "predicted = simulator fed with the per-action costs measured in the same run; ratio = measured / predicted%n"
                        + "columns with two values: baseline (fused backward) -> 2BP%n",
                cfg.model().name(), t.size(), rounds, cfg.train().microBatchSize(), cfg.model().seqLen());
        if (t.rank() == 0) {
            System.out.print(intro + header);
            System.out.flush();
        }
        out.append(intro).append(header);
        Map<String, Variant[]> measured = new LinkedHashMap<>();
        for (String name : schedules) {
            Variant[] pair;
            Schedule[] explicit = null;
            String family = name;
            if (name.equals("auto")) {
                explicit = autoSchedules(t, cfg, measured);
                family = "1f1b-1";
            }
            pair = measurePair(t, cfg, family, explicit, rounds);
            measured.put(name, pair);
            String line = line(name, pair, explicit, cfg, t.size());
            if (t.rank() == 0) {
                System.out.print(line);
                System.out.flush();
            }
            out.append(line);
        }
        return out.toString();
    }

    /** The automatic schedule (and its no-2BP form) for the costs measured with 1F1B-1, under 1F1B's memory cap. */
    static Schedule[] autoSchedules(Transport t, RunConfig cfg, Map<String, Variant[]> measured) {
        Variant[] base = measured.get("1f1b-1");
        if (base == null) {
            base = measurePair(t, cfg, "1f1b-1", null, 1);
        }
        CostModel costs = costs(base, t.size());
        int m = t.size();
        AutoScheduler auto = new AutoScheduler(costs, LinkModel.free(), t.size());
        return new Schedule[] {auto.schedule(t.size(), m, false).schedule(), auto.schedule(t.size(), m, true).schedule()};
    }

    static String line(String name, Variant[] pair, Schedule[] explicit, RunConfig cfg, int ranks) {
        Schedule[] schedules = new Schedule[2];
        for (int v = 0; v < 2; v++) {
            schedules[v] = explicit != null ? explicit[v]
                    : cfg.pipeline().with(name, v == 1).family().computeOnly(ranks, pair[v].microbatches(), v == 1,
                            cfg.pipeline().chunksPerRank(), cfg.pipeline().stashCap(ranks));
        }
        int stages = schedules[0].stages();
        double predicted = Double.NaN;
        String simBubble = "-";
        try {
            CostModel costs = costs(pair, stages);
            Simulator sim = new Simulator(costs, LinkModel.free());
            SimulationResult a = sim.run(schedules[0]);
            SimulationResult b = sim.run(schedules[1]);
            predicted = a.makespan() / b.makespan();
            simBubble = String.format(Locale.ROOT, "%4.1f%% -> %4.1f%%", 100 * a.bubbleRatio(), 100 * b.bubbleRatio());
        } catch (RuntimeException e) {
            simBubble = "n/a: " + e.getMessage();
        }
        double speedup = pair[0].medianSeconds() / pair[1].medianSeconds();
        StringBuilder peaks = new StringBuilder();
        for (int r = 0; r < pair[0].peakBytesByRank().length; r++) {
            peaks.append(r == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.0f->%.0f",
                    pair[0].peakBytesByRank()[r] / 1048576.0, pair[1].peakBytesByRank()[r] / 1048576.0));
        }
        String label = explicit != null ? "auto (" + schedules[1].name() + ")" : pair[1].name().replace(" + 2BP", "");
        return String.format(Locale.ROOT, "%-28s %3d %9.0f %9.0f %7.3fx %8.3fx %5.1f%% %5.1f%% -> %4.1f%% %15s %21s%n",
                label.length() > 28 ? label.substring(0, 28) : label, pair[1].microbatches(), pair[0].tokensPerSecond(),
                pair[1].tokensPerSecond(), speedup, predicted, 100 * speedup / predicted, 100 * pair[0].bubble(),
                100 * pair[1].bubble(), simBubble, peaks);
    }
}
