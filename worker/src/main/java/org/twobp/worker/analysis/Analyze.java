package org.twobp.worker.analysis;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.twobp.checkpoints.RunLogStep;
import org.twobp.worker.pipeline.PipelinePlan;
import org.twobp.worker.pipeline.RunConfig;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.MicroBatches;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.schedule.picture.TimelinePng;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.TimedAction;

/**
 * {@code twobp analyze RUN_DIR [RUN_DIR2 ...]}: reads the runs' HDF5 logs and prints a summary
 * (throughput and step time with p10/p90, bubble ratio per rank, peak memory per rank and
 * category, final loss); with two runs, the comparison (speed-up, memory increase) that shows
 * 2BP's gain and cost on a user's own model. Writes PNG charts (loss and throughput over steps,
 * memory per rank by category, the measured timeline of one step like the paper's Figure 1)
 * and, with {@code --csv}, every logged metric as CSV.
 */
public final class Analyze {

    private Analyze() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static String usage() {
        return """
                usage: twobp analyze RUN_DIR [RUN_DIR2 ...] [--png DIR] [--step N] [--skip N] [--csv FILE]
                  Summary of each run's logs; with two runs, the second compared with the first.
                  --png DIR   where the charts go (default RUN_DIR/analysis of the first run)
                  --step N    the step whose measured timeline is drawn (default: the median-time step)
                  --skip N    warm-up steps left out of the statistics (default 1)
                  --csv FILE  every logged metric of every run, rank and step
                  Exit status: 0 done, 1 unreadable logs, 2 usage error.""";
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<Path> dirs = new ArrayList<>();
        Path png = null;
        Path csv = null;
        Integer step = null;
        int skip = 1;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "-h", "--help" -> {
                        out.println(usage());
                        return 0;
                    }
                    case "--png" -> png = Path.of(args[++i]);
                    case "--csv" -> csv = Path.of(args[++i]);
                    case "--step" -> step = Integer.parseInt(args[++i]);
                    case "--skip" -> skip = Integer.parseInt(args[++i]);
                    default -> {
                        if (args[i].startsWith("-")) {
                            throw new IllegalArgumentException("unknown option " + args[i]);
                        }
                        dirs.add(Path.of(args[i]));
                    }
                }
            }
            if (dirs.isEmpty()) {
                throw new IllegalArgumentException("name at least one run folder");
            }
        } catch (RuntimeException e) {
            err.println("twobp analyze: " + (e instanceof ArrayIndexOutOfBoundsException ? "an option needs a value"
                    : e.getMessage()) + "\nRun 'twobp analyze --help' for the options.");
            return 2;
        }
        try {
            List<RunSummary> runs = new ArrayList<>();
            for (Path d : dirs) {
                runs.add(RunSummary.load(d));
            }
            for (RunSummary r : runs) {
                out.print(summary(r, skip));
            }
            if (runs.size() >= 2) {
                for (int i = 1; i < runs.size(); i++) {
                    out.print(compare(runs.get(0), runs.get(i), skip));
                }
            }
            Path pngDir = png != null ? png : dirs.get(0).resolve("analysis");
            Files.createDirectories(pngDir);
            for (Path p : charts(runs, pngDir, step, skip)) {
                out.println("chart     " + p);
            }
            if (csv != null) {
                writeCsv(runs, csv);
                out.println("csv       " + csv);
            }
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("twobp analyze: " + e.getMessage());
            return 2;
        } catch (IOException | RuntimeException e) {
            err.println("twobp analyze: " + e.getMessage());
            return 1;
        }
    }

    static String summary(RunSummary r, int skip) {
        StringBuilder s = new StringBuilder();
        List<RunLogStep> lead = r.lead();
        List<RunLogStep> timed = r.timed(lead, skip);
        double[] tps = r.column(timed, "tokens_per_s");
        double[] time = r.column(timed, "step_time_s");
        s.append(String.format(Locale.ROOT, "run       %s: %d steps logged on %d ranks (statistics skip the first %d)%n",
                r.dir(), lead.size(), r.ranks().size(), skip));
        s.append(String.format(Locale.ROOT, "  tokens/s   median %.1f  p10 %.1f  p90 %.1f%n", RunSummary.quantile(tps, 0.5),
                RunSummary.quantile(tps, 0.1), RunSummary.quantile(tps, 0.9)));
        s.append(String.format(Locale.ROOT, "  step time  median %.3f s  p10 %.3f  p90 %.3f%n", RunSummary.quantile(time, 0.5),
                RunSummary.quantile(time, 0.1), RunSummary.quantile(time, 0.9)));
        RunLogStep last = lead.get(lead.size() - 1);
        s.append(String.format(Locale.ROOT, "  loss       %.4f -> %.4f (step %d)%n", lead.get(0).metrics().get("loss"),
                last.metrics().get("loss"), last.step() + 1));
        List<String> cats = r.memoryCategories();
        s.append(String.format(Locale.ROOT, "  %-6s %8s %10s", "rank", "bubble", "peak MiB"));
        for (String c : cats) {
            s.append(String.format(Locale.ROOT, " %11s", c));
        }
        s.append('\n');
        for (Map.Entry<Integer, List<RunLogStep>> e : r.ranks().entrySet()) {
            List<RunLogStep> t = r.timed(e.getValue(), skip);
            s.append(String.format(Locale.ROOT, "  %-6d %7.1f%% %10.1f", e.getKey(),
                    100 * RunSummary.quantile(r.column(t, "rank_bubble"), 0.5),
                    RunSummary.max(r.column(e.getValue(), "mem_peak_total")) / 1048576.0));
            for (String c : cats) {
                s.append(String.format(Locale.ROOT, " %11.1f", RunSummary.max(r.column(e.getValue(), "mem_peak_" + c)) / 1048576.0));
            }
            s.append('\n');
        }
        return s.toString();
    }

    static String compare(RunSummary a, RunSummary b, int skip) {
        double ta = RunSummary.quantile(a.column(a.timed(a.lead(), skip), "tokens_per_s"), 0.5);
        double tb = RunSummary.quantile(b.column(b.timed(b.lead(), skip), "tokens_per_s"), 0.5);
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "compare   %s vs %s: speed-up %.3fx (median tokens/s %.1f -> %.1f)%n", b.dir(), a.dir(), tb / ta, ta, tb));
        for (Integer rank : a.ranks().keySet()) {
            if (!b.ranks().containsKey(rank)) {
                continue;
            }
            double ma = RunSummary.max(a.column(a.ranks().get(rank), "mem_peak_total"));
            double mb = RunSummary.max(b.column(b.ranks().get(rank), "mem_peak_total"));
            s.append(String.format(Locale.ROOT, "  rank %d peak memory %.1f -> %.1f MiB (%+.1f%%)%n", rank, ma / 1048576.0,
                    mb / 1048576.0, 100 * (mb / ma - 1)));
        }
        return s.toString();
    }

    static List<Path> charts(List<RunSummary> runs, Path dir, Integer step, int skip) throws IOException {
        List<Path> written = new ArrayList<>();
        XYChart loss = new XYChartBuilder().width(900).height(420).title("loss").xAxisTitle("step").yAxisTitle("loss").build();
        XYChart tps = new XYChartBuilder().width(900).height(420).title("throughput").xAxisTitle("step")
                .yAxisTitle("tokens/s").build();
        for (RunSummary r : runs) {
            List<RunLogStep> lead = r.lead();
            double[] x = lead.stream().mapToDouble(s -> s.step() + 1).toArray();
            loss.addSeries(r.dir().getFileName() + "", x, r.column(lead, "loss"));
            List<RunLogStep> timed = r.timed(lead, skip);
            tps.addSeries(r.dir().getFileName() + "", timed.stream().mapToDouble(s -> s.step() + 1).toArray(),
                    r.column(timed, "tokens_per_s"));
        }
        written.add(save(loss, dir.resolve("loss.png")));
        written.add(save(tps, dir.resolve("throughput.png")));
        for (RunSummary r : runs) {
            CategoryChart mem = new CategoryChartBuilder().width(900).height(420)
                    .title("peak memory by category: " + r.dir().getFileName()).xAxisTitle("rank").yAxisTitle("MiB").build();
            mem.getStyler().setStacked(true);
            List<String> ranks = r.ranks().keySet().stream().map(k -> "rank " + k).toList();
            for (String c : r.memoryCategories()) {
                List<Double> v = new ArrayList<>();
                for (List<RunLogStep> steps : r.ranks().values()) {
                    v.add(RunSummary.max(r.column(steps, "mem_peak_" + c)) / 1048576.0);
                }
                mem.addSeries(c, ranks, v);
            }
            written.add(save(mem, dir.resolve("memory-" + r.dir().getFileName() + ".png")));
            Path gantt = timeline(r, dir, step, skip);
            if (gantt != null) {
                written.add(gantt);
            }
        }
        return written;
    }

    private static Path save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }

    /** The measured timeline of one step, drawn like the paper's Figure 1 (needs the run's config.toml). */
    static Path timeline(RunSummary r, Path dir, Integer wanted, int skip) {
        if (r.config().isEmpty()) {
            return null;
        }
        Schedule schedule;
        try {
            Path tmp = Files.createTempFile("twobp-config", ".toml");
            Files.writeString(tmp, r.config());
            schedule = PipelinePlan.of(RunConfig.load(tmp, Map.of()), r.ranks().size()).schedule();
            Files.deleteIfExists(tmp);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        List<RunLogStep> lead = r.timed(r.lead(), skip);
        long step;
        if (wanted != null) {
            step = wanted - 1;
        } else {
            double median = RunSummary.quantile(r.column(lead, "step_time_s"), 0.5);
            step = lead.stream().min((x, y) -> Double.compare(Math.abs(x.metrics().get("step_time_s") - median),
                    Math.abs(y.metrics().get("step_time_s") - median))).orElseThrow().step();
        }
        List<List<TimedAction>> timeline = new ArrayList<>();
        double[] busy = new double[r.ranks().size()];
        double makespan = 0;
        int rankIndex = 0;
        for (List<RunLogStep> steps : r.ranks().values()) {
            List<TimedAction> row = new ArrayList<>();
            for (RunLogStep s : steps) {
                if (s.step() != step) {
                    continue;
                }
                makespan = Math.max(makespan, s.metrics().getOrDefault("rank_step_time_s", 0.0));
                int slot = 0;
                for (RunLogStep.Action a : s.actions()) {
                    Action action = new Action(ActionKind.ofSymbol(a.kind()), a.stage(),
                            MicroBatches.range(a.firstMicrobatch(), a.firstMicrobatch() + a.microbatches() - 1), -1);
                    // the drawn box is the computation: the wait for a peer's data is bubble
                    double start = (a.startNanos() + a.waitNanos()) / 1e9;
                    row.add(new TimedAction(action, slot++, start, a.endNanos() / 1e9));
                    busy[rankIndex] += (a.endNanos() - a.startNanos() - a.waitNanos()) / 1e9;
                }
            }
            timeline.add(row);
            rankIndex++;
        }
        if (timeline.stream().allMatch(List::isEmpty)) {
            return null;
        }
        int ranks = busy.length;
        SimulationResult measured = new SimulationResult(schedule, timeline, makespan, busy, new double[ranks],
                new double[ranks]);
        Path file = dir.resolve("timeline-" + r.dir().getFileName() + "-step-" + (step + 1) + ".png");
        TimelinePng.write(file, "measured timeline of step " + (step + 1) + " (seconds): " + r.dir().getFileName(),
                List.of(new TimelinePng.Panel(schedule.name(), measured)));
        return file;
    }

    static void writeCsv(List<RunSummary> runs, Path file) throws IOException {
        StringBuilder s = new StringBuilder();
        List<String> names = new ArrayList<>(runs.get(0).lead().get(0).metrics().keySet());
        s.append("run,rank,step");
        for (String n : names) {
            s.append(',').append(n);
        }
        s.append('\n');
        for (RunSummary r : runs) {
            for (Map.Entry<Integer, List<RunLogStep>> e : r.ranks().entrySet()) {
                for (RunLogStep st : e.getValue()) {
                    s.append(r.dir()).append(',').append(e.getKey()).append(',').append(st.step() + 1);
                    for (String n : names) {
                        Double v = st.metrics().get(n);
                        s.append(',').append(v == null ? "" : String.format(Locale.ROOT, "%.6g", v));
                    }
                    s.append('\n');
                }
            }
        }
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        Files.writeString(file, s.toString());
    }
}
