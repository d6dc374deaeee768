package org.twobp.tests.pipeline;

import java.io.IOException;
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
 * 2BP, and writes each rank's weights to {@code OUT/<case>/<parameter>.f32}; the test then
 * compares them with single-process training.
 */
public final class PipelineEqualityMain {

    public static final int STEPS = 3;

    private PipelineEqualityMain() {
    }

    /** 6 transformer blocks (8 blocks in all): enough for 4 ranks x 2 chunks. */
    public static ModelConfig model() {
        return new ModelConfig("pipeline-test", 32, 6, 4, 2, 48, 16, 12, 10000.0, 1e-5, 7, 0.1, "rmsnorm", "swiglu");
    }

    public static TrainConfig train(String optimizer) {
        return TrainConfig.of(Map.of("data", "synthetic:copy?length=4", "steps", 10L, "batch_size", 2L,
                "micro_batches", 1L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "grad_clip", 1.0, "seed", 3L,
                "optimizer", optimizer));
    }

    /** Every case: optimizer, schedule, 2BP or not. */
    public static List<String[]> cases() {
        List<String[]> out = new ArrayList<>();
        for (String opt : new String[] {"sgd", "adamw"}) {
            for (ScheduleFamily f : ScheduleFamily.values()) {
                for (String twoBp : new String[] {"true", "false"}) {
                    out.add(new String[] {opt, f.cliName(), twoBp});
                }
            }
        }
        return out;
    }

    public static String caseName(String[] c) {
        return c[0] + "-" + c[1] + "-" + (c[2].equals("true") ? "2bp" : "fused");
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        MpiTransport t = MpiTransport.init(new String[0]);
        t.setTimeout(Duration.ofSeconds(60));
        try {
            for (String[] c : cases()) {
                PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", c[1], "two_bp", c[2]));
                TrainConfig train = train(c[0]);
                Map<String, float[]> weights = new LinkedHashMap<>();
                try (CpuBackend backend = new CpuBackend(1);
                     TokenDataset data = Datasets.open(train.data(), model().seqLen(), model().vocabSize(), train.seed())) {
                    PipelineTrainer trainer = new PipelineTrainer(t, model(), train, pipe, backend, null);
                    for (int s = 0; s < STEPS; s++) {
                        trainer.step(data.next(trainer.globalBatchSize()));
                    }
                    for (Model m : trainer.models().values()) {
                        weights.putAll(SingleProcessReference.weights(m));
                    }
                }
                WeightFiles.write(out.resolve(caseName(c)), weights);
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
