package org.twobp.tests.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.MpiTransport;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.pipeline.PipelineConfig;
import org.twobp.worker.pipeline.PipelineTrainer;
import org.twobp.worker.pipeline.SingleProcessReference;
import org.twobp.worker.pipeline.WeightFiles;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.train.TrainConfig;

/**
 * Under real MPI: trains a small model for a few steps with every schedule, with and without
 * 2BP, and writes each rank's weights to {@code OUT/<case>/<parameter>.f32} and the per-step
 * losses to {@code OUT/<case>/losses.txt}; the test then compares both with single-process
 * training. Clipped cases ({@code grad_clip = 1.0}, which clips every step of this model) run for
 * both optimizers; unclipped SGD cases, where a wrong gradient scale cannot cancel out, run for
 * the main schedule families.
 */
public final class PipelineEqualityMain {

    public static final int STEPS = 3;
    /** The file of a case's per-step losses, one per line (written by rank 0). */
    private static final String LOSSES = "losses.txt";

    private PipelineEqualityMain() {
    }

    /** 6 transformer blocks (8 blocks in all): enough for 4 ranks x 2 chunks. */
    public static ModelConfig model() {
        return new ModelConfig("pipeline-test", 32, 6, 4, 2, 48, 16, 12, 10000.0, 1e-5, 7, 0.1, "rmsnorm", "swiglu");
    }

    /** The families the unclipped cases run: one of each kind (flush, 1F1B, interleaved, zero bubble, V). */
    public static final List<String> UNCLIPPED = List.of("gpipe", "1f1b-1", "interleaved", "zb-h1", "zb-v");

    /** {@code gradClip} 0: no clipping. */
    public static TrainConfig train(String optimizer, double gradClip) {
        return TrainConfig.of(Map.of("data", "synthetic:copy?length=4", "steps", 10L, "batch_size", 2L,
                "micro_batches", 1L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "grad_clip", gradClip, "seed", 3L,
                "optimizer", optimizer));
    }

    /** One case's training settings. */
    public static TrainConfig train(String[] c) {
        return train(c[0], Double.parseDouble(c[3]));
    }

    public static PipelineConfig pipeline(String[] c) {
        return PipelineConfig.of(Map.of("schedule", c[1], "two_bp", c[2]));
    }

    /** Every case: optimizer, schedule, 2BP or not, grad_clip. */
    public static List<String[]> cases() {
        List<String[]> out = new ArrayList<>();
        for (String opt : new String[] {"sgd", "adamw"}) {
            for (ScheduleFamily f : ScheduleFamily.values()) {
                for (String twoBp : new String[] {"true", "false"}) {
                    out.add(new String[] {opt, f.cliName(), twoBp, "1.0"});
                }
            }
        }
        for (String family : UNCLIPPED) {
            for (String twoBp : new String[] {"true", "false"}) {
                out.add(new String[] {"sgd", family, twoBp, "0"});
            }
        }
        return out;
    }

    public static String caseName(String[] c) {
        return c[0] + "-" + c[1] + "-" + (c[2].equals("true") ? "2bp" : "fused")
                + (Double.parseDouble(c[3]) > 0 ? "" : "-unclipped");
    }

    /** The per-step losses a case wrote. */
    public static List<Double> readLosses(Path caseDir) throws IOException {
        return Files.readAllLines(caseDir.resolve(LOSSES)).stream().map(Double::valueOf).toList();
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        MpiTransport t = MpiTransport.init(new String[0]);
        t.setTimeout(Duration.ofSeconds(60));
        try {
            for (String[] c : cases()) {
                PipelineConfig pipe = pipeline(c);
                TrainConfig train = train(c);
                Map<String, float[]> weights = new LinkedHashMap<>();
                List<String> losses = new ArrayList<>();
                try (CpuBackend backend = new CpuBackend(1);
                     TokenDataset data = Datasets.open(train.data(), model().seqLen(), model().vocabSize(), train.seed())) {
                    PipelineTrainer trainer = new PipelineTrainer(t, model(), train, pipe, backend, null);
                    for (int s = 0; s < STEPS; s++) {
                        losses.add(Double.toString(trainer.step(data.next(trainer.globalBatchSize())).loss()));
                    }
                    for (Model m : trainer.models().values()) {
                        weights.putAll(SingleProcessReference.weights(m));
                    }
                }
                WeightFiles.write(out.resolve(caseName(c)), weights);
                if (t.rank() == 0) {    // every rank reports the same all-reduced losses
                    Files.write(out.resolve(caseName(c)).resolve(LOSSES), losses);
                }
                t.barrier();
                if (t.rank() == 0) {
                    System.out.println("equality: " + caseName(c) + " done on " + t.size() + " ranks");
                }
            }
        } catch (RuntimeException e) {
            t.abort(3, "pipeline equality run failed: " + e);
        }
        t.close();
    }
}
