package org.twobp.worker.pipeline;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.twobp.checkpoints.CheckpointReader;
import org.twobp.checkpoints.CheckpointWriter;
import org.twobp.checkpoints.FloatSlice;
import org.twobp.checkpoints.ModelSpec;
import org.twobp.checkpoints.Resolution;
import org.twobp.checkpoints.ResumeResolver;
import org.twobp.checkpoints.Retention;
import org.twobp.checkpoints.TensorEntry;
import org.twobp.checkpoints.TrainingState;
import org.twobp.datasets.DataPosition;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.Transport;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.model.Model;
import org.twobp.worker.optim.Optimizer;
import org.twobp.worker.tensor.Parameter;
import org.twobp.worker.tensor.Tensor;

/**
 * Saving and resuming a pipeline run: every rank writes its stages (parameters and optimizer
 * moments keyed by layer name, step, optimizer step count, data position, the resolved config
 * and the schedule), then rank 0 commits the step with its manifest and applies retention.
 * Because tensors are keyed by name, a checkpoint written with one stage layout loads into any
 * other. Resume is exact: the same thread counts give the same bits as an uninterrupted run.
 */
public final class StageCheckpoints {

    static final String OPTIMIZER_STEPS = "optimizer_steps";
    static final String LOSS_SCALE = "loss_scale";
    static final String LOSS_SCALE_GOOD_STEPS = "loss_scale_good_steps";

    private StageCheckpoints() {
    }

    /** Writes step {@code trainer.stepsDone()}; collective: every rank calls it. Returns the step folder. */
    public static Path save(Transport t, PipelineTrainer trainer, Path runDir, TokenDataset data, RunConfig cfg) {
        int step = trainer.stepsDone();
        CheckpointWriter writer = new CheckpointWriter(runDir);
        Backend be = trainer.backend();
        String optimizer = trainer.train().optimizer();
        for (Map.Entry<Integer, Model> e : trainer.models().entrySet()) {
            Model model = e.getValue();
            Optimizer opt = trainer.optimizers().get(e.getKey());
            List<TensorEntry> tensors = new ArrayList<>();
            for (Parameter p : model.parameters().list()) {
                TensorEntry entry = TensorEntry.of(p.name(), p.shape(), FloatSlice.of(be.toHost(p.value())));
                for (Map.Entry<String, Tensor> s : opt.state().entrySet()) {
                    entry = entry.with(optimizer + "." + s.getKey(), FloatSlice.of(be.toHost(p.viewOf(s.getValue()))));
                }
                tensors.add(entry);
            }
            TrainingState state = TrainingState.at(step)
                    .withLr(OPTIMIZER_STEPS, opt.steps())
                    .withLr(LOSS_SCALE, trainer.lossScaler().scale())
                    .withLr(LOSS_SCALE_GOOD_STEPS, trainer.lossScaler().goodSteps())
                    .withDataPosition(data.position().toLongs())
                    .withDataPositionText(data.position().toString())
                    .withConfig(cfg.toToml())
                    .withSchedule(trainer.schedule().toString())
                    .withModel("name", cfg.model().name())
                    .withModel("vocab_size", String.valueOf(cfg.model().vocabSize()))
                    .withModel("dim", String.valueOf(cfg.model().dim()))
                    .withModel("optimizer", optimizer);
            writer.writeStage(e.getKey(), trainer.schedule().stages(), state, tensors);
        }
        t.barrier();
        if (t.rank() == 0) {
            writer.commit(step, trainer.schedule().stages());
            new Retention(cfg.checkpoint().keepLast(), cfg.checkpoint().keepEvery()).apply(runDir);
        }
        t.barrier();
        return runDir.resolve("checkpoints").resolve("step-" + step);
    }

    /**
     * After resuming from {@code step} (0 = a fresh start), checkpoint folders of later steps
     * belong to an abandoned history (damaged, incomplete, or not chosen): they are renamed to
     * {@code stale-step-N-<time>}, kept for inspection but invisible to resume, so that the
     * continued run can save those steps again. Rank 0 only, between barriers.
     */
    public static List<Path> setAsideNewerThan(Path runDir, long step) {
        Path dir = runDir.resolve("checkpoints");
        List<Path> moved = new ArrayList<>();
        if (!java.nio.file.Files.isDirectory(dir)) {
            return moved;
        }
        try (var entries = java.nio.file.Files.list(dir)) {
            for (Path p : entries.toList()) {
                String n = p.getFileName().toString();
                if (n.matches("step-\\d+") && Long.parseLong(n.substring(5)) > step) {
                    Path target = dir.resolve("stale-" + n + "-" + System.currentTimeMillis());
                    java.nio.file.Files.move(p, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    moved.add(target);
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot set aside stale checkpoints in " + dir + ": " + e.getMessage(), e);
        }
        return moved;
    }

    /**
     * Loads the checkpoint {@code option} names (auto, latest, a step, a path, none) into this
     * rank's stages and the data position; returns what was chosen (fresh when nothing was).
     */
    public static Resolution resume(PipelineTrainer trainer, Path runDir, String option, TokenDataset data, boolean log) {
        Resolution r = ResumeResolver.resolve(runDir, option);
        if (log) {
            for (String skipped : r.skipped()) {
                System.out.println("resume    skipped " + skipped);
            }
        }
        if (r.fresh()) {
            return r;
        }
        CheckpointReader ck = CheckpointReader.open(r.dir());
        String optimizer = trainer.train().optimizer();
        String saved = ck.state().model().getOrDefault("optimizer", optimizer);
        if (!saved.equals(optimizer)) {
            throw new IllegalArgumentException("checkpoint " + r.dir() + " holds " + saved + " state, this run uses "
                    + optimizer + ": resume with the same optimizer, or start fresh with --from none");
        }
        ModelSpec spec = ModelSpec.subset().attribute("name", trainer.modelConfig().name())
                .attribute("vocab_size", String.valueOf(trainer.modelConfig().vocabSize()))
                .attribute("dim", String.valueOf(trainer.modelConfig().dim()))
                .attribute("optimizer", optimizer);
        List<String> names = new ArrayList<>();
        for (Model m : trainer.models().values()) {
            for (Parameter p : m.parameters().list()) {
                spec = spec.tensor(p.name(), p.shape());
                names.add(p.name());
            }
        }
        ck.requireCompatible(spec);
        Map<String, TensorEntry> loaded = ck.read(names);
        Backend be = trainer.backend();
        for (Map.Entry<Integer, Model> e : trainer.models().entrySet()) {
            Optimizer opt = trainer.optimizers().get(e.getKey());
            for (Parameter p : e.getValue().parameters().list()) {
                TensorEntry entry = loaded.get(p.name());
                be.copyFromHost(entry.value().toArray(), 0, p.value());
                for (Map.Entry<String, Tensor> s : opt.state().entrySet()) {
                    String array = optimizer + "." + s.getKey();
                    if (!entry.has(array)) {
                        throw new IllegalArgumentException("checkpoint " + r.dir() + ": tensor " + p.name() + " has no "
                                + array + " (optimizer state); resume with --from none to start fresh");
                    }
                    be.copyFromHost(entry.array(array).toArray(), 0, p.viewOf(s.getValue()));
                }
            }
            opt.setSteps((int) ck.state().lr(OPTIMIZER_STEPS));
        }
        if (ck.state().lrSchedule().containsKey(LOSS_SCALE)) {   // absent in checkpoints of older builds
            trainer.lossScaler().restore((float) ck.state().lr(LOSS_SCALE), (int) ck.state().lr(LOSS_SCALE_GOOD_STEPS));
        }
        trainer.setStepsDone((int) ck.step());
        data.seek(DataPosition.fromLongs(ck.state().dataPosition()));
        return r;
    }
}
