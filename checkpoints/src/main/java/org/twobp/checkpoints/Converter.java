package org.twobp.checkpoints;

import java.nio.file.Path;
import java.util.List;

/**
 * Rewrites a checkpoint for another stage count: every tensor goes, unchanged and still under
 * its name, to the stage the layout gives its layer. One new stage is held in memory at a time.
 * The training state (step, schedule, config, data position, RNG states) is stage 0's, copied
 * to every new stage: per-stage generator streams do not map onto a different cut, so a runtime
 * that needs them per stage derives them again when the stage count changes.
 */
public final class Converter {

    private Converter() {
    }

    /** Writes {@code DST_RUN/checkpoints/step-N/} from the committed step folder {@code srcStepDir}. */
    public static Manifest convert(Path srcStepDir, Path dstRunDir, Layout layout, long splitBytes) {
        CheckpointReader src = CheckpointReader.open(srcStepDir);
        Path dst = CheckpointPaths.stepDir(dstRunDir, src.step());
        if (dst.toAbsolutePath().normalize().equals(srcStepDir.toAbsolutePath().normalize())) {
            throw new CheckpointException("converting " + srcStepDir + " onto itself would destroy it; write to "
                    + "another run directory");
        }
        List<String> names = src.tensors().stream().map(TensorInfo::name).toList();
        List<List<String>> perStage = layout.assign(names);
        TrainingState state = src.state();
        CheckpointWriter writer = new CheckpointWriter(dstRunDir, splitBytes);
        int stages = layout.stages();
        for (int s = 0; s < stages; s++) {
            writer.writeStage(s, stages, state, src.read(perStage.get(s)).values());
        }
        return writer.commit(src.step(), stages);
    }
}
