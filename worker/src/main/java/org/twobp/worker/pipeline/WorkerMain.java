package org.twobp.worker.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.twobp.checkpoints.RunLogWriter;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.MpiTransport;
import org.twobp.mpi.RankInfo;
import org.twobp.mpi.ReduceOp;
import org.twobp.mpi.Transport;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.Backends;
import org.twobp.worker.model.Model;
import org.twobp.worker.tensor.MemoryCategory;

/**
 * The main class of one rank: resolved configuration in, MPI up, this rank's stages built,
 * N pipeline steps, progress on rank 0, clean shutdown. Any failure on any rank ends the whole
 * job through the transport's abort, naming rank, stage, step and action.
 *
 * <pre>
 *   mpirun -np 2 java -cp "launcher/target/lib/*" org.twobp.worker.pipeline.WorkerMain \
 *       --config configs/llama-small.toml [--set train.steps=20] [--set pipeline.schedule=gpipe] ...
 * </pre>
 */
public final class WorkerMain {

    private WorkerMain() {
    }

    /** Parsed command line. */
    record Arguments(Path config, Map<String, String> overrides, FaultInjection fault, Path dumpWeights, Path runDir,
                     String resume) {

        static Arguments parse(String[] args) {
            Path config = null;
            Map<String, String> overrides = new LinkedHashMap<>();
            FaultInjection fault = null;
            Path dump = null;
            Path runDir = null;
            String resume = null;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "-h", "--help" -> throw new HelpRequested();
                    case "--config" -> config = Path.of(value(args, ++i, a));
                    case "--set" -> {
                        String kv = value(args, ++i, a);
                        int eq = kv.indexOf('=');
                        if (eq < 1) {
                            throw new IllegalArgumentException("--set needs section.key=value, got '" + kv + "'");
                        }
                        overrides.put(kv.substring(0, eq).strip(), kv.substring(eq + 1).strip());
                    }
                    case "--steps" -> overrides.put("train.steps", value(args, ++i, a));
                    case "--schedule" -> overrides.put("pipeline.schedule", value(args, ++i, a));
                    case "--2bp" -> overrides.put("pipeline.two_bp", "true");
                    case "--no-2bp" -> overrides.put("pipeline.two_bp", "false");
                    case "--fail-at" -> fault = FaultInjection.parse(value(args, ++i, a));
                    case "--dump-weights" -> dump = Path.of(value(args, ++i, a));
                    case "--run-dir" -> runDir = Path.of(value(args, ++i, a));
                    case "--from" -> resume = value(args, ++i, a);
                    case "--resume" -> throw new IllegalArgumentException("--resume is spelled --from, as in"
                            + " 'twobp resume RUN --from STEP': --from auto|latest|<step>|<path>|none");
                    default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
                }
            }
            if (config == null) {
                throw new IllegalArgumentException("--config FILE is required (e.g. configs/llama-small.toml)");
            }
            if (resume != null && runDir == null && !Path.of(resume).isAbsolute() && !resume.contains("/")) {
                throw new IllegalArgumentException("--from " + resume + " needs --run-dir (where the checkpoints are)");
            }
            return new Arguments(config, overrides, fault, dump, runDir, resume == null ? "auto" : resume);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }
    }

    static final class HelpRequested extends RuntimeException {
    }

    static String usage() {
        return """
                usage: WorkerMain --config FILE [--set section.key=value ...] [--steps N] [--schedule NAME] [--2bp | --no-2bp]
                  One rank of a pipeline-parallel run; start one per device with mpirun or srun --mpi=pmix.
                  --config FILE        TOML with [model], [train] and [pipeline] tables (see configs/)
                  --set K=V            override, e.g. train.steps=20, pipeline.schedule=gpipe, pipeline.two_bp=false
                  --steps, --schedule, --2bp, --no-2bp   shortcuts for the common overrides
                  --run-dir DIR        the run's folder: DIR/config.toml, DIR/checkpoints/step-N/ (see [checkpoint])
                  --from WHAT          where to continue: auto (default: newest complete checkpoint, else fresh), latest,
                                       a step, a path, none
                  --dump-weights DIR   after the run, every rank writes its weights as DIR/NAME.f32 (little-endian)
                  Stopping: SIGUSR1, SIGTERM or a file DIR/STOP makes every rank finish its step, checkpoint and exit 0.
                  --fail-at R:S:A      testing: rank R throws at the first action A (F, I, W, B) of step S""";
    }

    public static void main(String[] args) {
        Arguments a;
        RunConfig config;
        try {
            a = Arguments.parse(args);
            config = RunConfig.load(a.config(), a.overrides());
            // what can fail before MPI starts does, with exit 2, on every rank alike
            RunChecks.data(config);
            RunChecks.backend(config, Backends.gpuPresent());
            RunChecks.dumpFolder(a.dumpWeights());
        } catch (HelpRequested h) {
            System.out.println(usage());
            return;
        } catch (IllegalArgumentException e) {
            // every rank sees the same arguments, so every rank stops here with the same message
            if (RankInfo.fromEnvironment().worldRank() == 0) {
                System.err.println("twobp worker: " + e.getMessage());
            }
            System.exit(2);
            return;
        }
        MpiTransport transport = MpiTransport.init(new String[0]);
        StopRequest stop = StopRequest.install(a.runDir());
        int code = run(transport, config, a.fault(), a.dumpWeights(), a.runDir(), a.resume(), stop);
        if (code != 0) {
            transport.abort(code, "run failed");
        }
        transport.close();
    }

    /** Runs the job on this rank; on failure aborts every rank through the transport. */
    static int run(Transport transport, RunConfig config, FaultInjection fault, Path dumpWeights, Path runDir,
                   String resume, StopRequest stop) {
        transport.setTimeout(Duration.ofMillis((long) (config.pipeline().timeoutSeconds() * 1000)));
        RankInfo where = transport.rankInfo();
        boolean lead = transport.rank() == 0;
        int stepNow = -1; // counted from 1 once steps run: where a wait outside a step happened
        try (Backend backend = Backends.create(config.train().backend(), config.train().precision(),
                config.train().threads(), where.localRank(), where.localSize());
             TokenDataset data = Datasets.open(config.train().data(), config.model().seqLen(),
                     config.model().vocabSize(), config.train().seed())) {
            PipelineTrainer trainer = new PipelineTrainer(transport, config.model(), config.train(), config.pipeline(),
                    backend, fault);
            double[] pids = new double[transport.size()];
            pids[transport.rank()] = ProcessHandle.current().pid();
            transport.allreduce(pids, ReduceOp.SUM);
            if (lead) {
                printHeader(trainer, data, backend, transport.size());
                StringBuilder line = new StringBuilder("ranks     pid by rank:");
                for (int r = 0; r < pids.length; r++) {
                    line.append(' ').append(r).append('=').append((long) pids[r]);
                }
                System.out.println(line + " (" + where.localSize() + " on this node)");
            }
            if (runDir != null) {
                if (lead) {
                    Files.createDirectories(runDir);
                    Files.writeString(runDir.resolve("config.toml"), config.toToml());
                }
                var resumed = StageCheckpoints.resume(trainer, runDir, resume, data, lead);
                if (lead) {
                    System.out.println(resumed.fresh() ? "resume    none: a fresh start (run folder " + runDir + ")"
                            : "resume    from " + resumed.dir() + " (step " + resumed.step() + ")");
                }
                transport.barrier(); // every rank has chosen before anything is moved
                if (lead) {
                    for (Path stale : StageCheckpoints.setAsideNewerThan(runDir, resumed.fresh() ? 0 : resumed.step())) {
                        System.out.println("resume    set aside " + stale + " (a later step of an abandoned history)");
                    }
                }
            }
            RunLogWriter log = runDir == null ? null : new RunLogWriter(runDir.resolve("logs"), transport.rank(),
                    LOG_SEGMENT_STEPS, runAttributes(transport, backend), config.toToml());
            transport.barrier();
            List<PipelineStepResult> results = new ArrayList<>();
            long start = System.nanoTime();
            int steps = config.train().steps();
            int every = config.checkpoint().every();
            String stoppedBy = null;
            for (int s = trainer.stepsDone(); s < steps; s++) {
                stepNow = s + 1;
                PipelineStepResult r;
                try {
                    r = trainer.step(data.next(trainer.globalBatchSize()));
                } catch (RuntimeException e) {
                    if (log != null) {
                        log.flush(); // a failure loses nothing already measured
                    }
                    throw e;
                }
                results.add(r);
                if (log != null) {
                    log.append(StepLogs.of(r, backend));
                }
                if (lead && (results.size() == 1 || (s + 1) % config.train().logEvery() == 0 || s == steps - 1)) {
                    System.out.println(format(r, steps));
                    System.out.flush();
                }
                stoppedBy = stop == null ? null : stop.agreed(transport);
                boolean last = s == steps - 1;
                if (runDir != null && (stoppedBy != null || last || (every > 0 && (s + 1) % every == 0))) {
                    Path saved = StageCheckpoints.save(transport, trainer, runDir, data, config);
                    if (lead) {
                        System.out.println("checkpoint " + saved + " (step " + trainer.stepsDone() + ")");
                    }
                }
                if (stoppedBy != null) {
                    if (lead && runDir != null) {
                        // the request is served: a resumed job must not stop again at once
                        Files.deleteIfExists(runDir.resolve("STOP"));
                    }
                    if (lead) {
                        System.out.println("[twobp] stopping after step " + trainer.stepsDone() + " (" + stoppedBy + "): "
                                + (runDir == null ? "no --run-dir, nothing saved" : "checkpoint written;"
                                + " continue with --from auto"));
                    }
                    break;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (log != null) {
                log.close();
            }
            String memory = memoryByRank(transport, backend);
            if (lead && !results.isEmpty()) {
                System.out.println(summary(results, seconds));
                System.out.print(memory);
                System.out.flush();
            }
            if (dumpWeights != null) {
                dump(trainer, dumpWeights);
            }
            transport.barrier();
            return 0;
        } catch (IOException e) {
            String msg = "rank " + transport.rank() + " cannot write the run folder " + runDir + ": " + e.getMessage();
            System.err.println("[twobp] " + msg);
            transport.abort(1, msg);
            return 1;
        } catch (RuntimeException e) {
            StalledWait stalled = e instanceof PipelineException p ? p.stalledWait()
                    : waitOutsideStep(transport.rank(), stepNow, e);
            String msg = stalled != null ? stalled.line() : e instanceof PipelineException ? e.getMessage()
                    : "rank " + transport.rank() + " failed: " + e;
            System.err.println("[twobp] " + msg);
            if (stalled == null) {
                e.printStackTrace(System.err); // a wait's line says all there is to say; a failure of its own needs the stack
            }
            System.err.flush();
            transport.abort(1, msg);
            return 1;
        }
    }

    /**
     * A timeout or a cut-short wait outside a pipeline step (start-up, checkpoints, the stop
     * agreement, the end), named by the transport operation and the step just run (-1 before
     * the first); null for any other failure.
     */
    static StalledWait waitOutsideStep(int rank, int step, RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.twobp.mpi.TransportException te) {
                String op = te.operation();
                int paren = op.indexOf('(');
                return StalledWait.of(rank, -1, step, "the " + (paren < 0 ? op : op.substring(0, paren)), -1, "", e);
            }
        }
        return null;
    }

    /** Steps per published log segment: a crash loses at most this many steps of the log. */
    static final int LOG_SEGMENT_STEPS = 50;

    static Map<String, String> runAttributes(Transport t, Backend backend) {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("host", SystemInfo.host());
        a.put("world_size", String.valueOf(t.size()));
        a.put("device", backend.name());
        a.put("backend", backend.describe());
        a.put("java", System.getProperty("java.version"));
        a.put("mpi", t.getClass().getSimpleName());
        a.put("started_unix_ms", String.valueOf(System.currentTimeMillis()));
        return a;
    }

    static void printHeader(PipelineTrainer t, TokenDataset data, Backend backend, int ranks) {
        var m = t.modelConfig();
        System.out.println("model     " + m.describe());
        System.out.println("data      " + data.describe());
        System.out.println("schedule  " + t.schedule().name() + ": " + ranks + " ranks, " + t.schedule().stages()
                + " stages, " + t.schedule().microbatches() + " micro-batches of " + t.train().microBatchSize()
                + " x " + m.seqLen() + " tokens (global batch " + t.globalBatchSize() + " sequences)");
        for (String line : t.plan().describe()) {
            System.out.println("          " + line);
        }
        System.out.println("train     " + t.train().steps() + " steps, " + t.train().optimizer() + ", lr " + t.train().lr()
                + " -> " + t.train().minLr() + ", grad clip " + t.train().gradClip());
        System.out.println("backend   " + backend.describe());
    }

    static String format(PipelineStepResult r, int steps) {
        int width = String.valueOf(steps).length();
        return String.format(Locale.ROOT, "step %" + width + "d/%d | loss %.4f | acc %.3f | %.0f tok/s | %.2f s"
                        + " | bubble %.1f%% (max %.1f%%) | peak %.1f MiB | norm %.3f | lr %.2e",
                r.step() + 1, steps, r.loss(), r.accuracy(), r.tokensPerSecond(), r.stepNanos() / 1e9,
                100 * r.bubbleMean(), 100 * r.bubbleMax(), r.peakBytes() / 1048576.0, r.gradNorm(), r.lr());
    }

    static String summary(List<PipelineStepResult> results, double seconds) {
        List<PipelineStepResult> timed = results.size() > 1 ? results.subList(1, results.size()) : results;
        double tokens = timed.stream().mapToDouble(PipelineStepResult::tokens).sum();
        double nanos = timed.stream().mapToDouble(PipelineStepResult::stepNanos).sum();
        double bubble = timed.stream().mapToDouble(PipelineStepResult::bubbleMean).average().orElse(0);
        PipelineStepResult first = results.get(0);
        PipelineStepResult last = results.get(results.size() - 1);
        return String.format(Locale.ROOT, "done      %d steps in %.1f s | %.0f tok/s (steps 2..%d) | loss %.4f -> %.4f"
                        + " | accuracy %.3f | bubble %.1f%%", results.size(), seconds, tokens / (nanos / 1e9),
                results.size(), first.loss(), last.loss(), last.accuracy(), 100 * bubble);
    }

    /** Peak memory of every rank by category, gathered to rank 0 (a sum where each rank fills its own row). */
    static String memoryByRank(Transport t, Backend backend) {
        MemoryCategory[] cats = MemoryCategory.values();
        int cols = cats.length + 1;
        double[] table = new double[t.size() * cols];
        for (int c = 0; c < cats.length; c++) {
            table[t.rank() * cols + c] = backend.memory().peak(cats[c]);
        }
        table[t.rank() * cols + cats.length] = backend.peakReservedBytes();
        t.allreduce(table, ReduceOp.SUM);
        StringBuilder s = new StringBuilder();
        for (int r = 0; r < t.size(); r++) {
            s.append(String.format(Locale.ROOT, "memory    rank %d peak MiB:", r));
            for (int c = 0; c < cats.length; c++) {
                s.append(String.format(Locale.ROOT, " %s %.1f", cats[c].label(), table[r * cols + c] / 1048576.0));
            }
            s.append(String.format(Locale.ROOT, " | reserved %.1f", table[r * cols + cats.length] / 1048576.0));
            s.append('\n');
        }
        return s.toString();
    }

    static void dump(PipelineTrainer trainer, Path dir) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (Model m : trainer.models().values()) {
            weights.putAll(SingleProcessReference.weights(m));
        }
        WeightFiles.write(dir, weights);
    }
}
