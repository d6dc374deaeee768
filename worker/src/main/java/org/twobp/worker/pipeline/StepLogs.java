package org.twobp.worker.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.twobp.checkpoints.RunLogStep;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.tensor.MemoryCategory;

/** What a rank's run log records of one pipeline step. */
final class StepLogs {

    private StepLogs() {
    }

    static RunLogStep of(PipelineStepResult r, Backend backend) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("loss", r.loss());
        m.put("accuracy", r.accuracy());
        m.put("lr", r.lr());
        m.put("grad_norm", r.gradNorm());
        m.put("tokens", (double) r.tokens());
        m.put("step_time_s", r.stepNanos() / 1e9);
        m.put("tokens_per_s", r.tokensPerSecond());
        m.put("rank_step_time_s", r.localStepNanos() / 1e9);
        m.put("rank_busy_s", r.localBusyNanos() / 1e9);
        m.put("rank_idle_s", (r.localStepNanos() - r.localBusyNanos()) / 1e9);
        m.put("rank_bubble", 1 - (double) r.localBusyNanos() / r.localStepNanos());
        m.put("bubble_mean", r.bubbleMean());
        m.put("rank_gemm_flops_per_s", r.localGemmFlops() / (r.localStepNanos() / 1e9));
        for (MemoryCategory c : MemoryCategory.values()) {
            m.put("mem_current_" + c.label(), (double) backend.memory().current(c));
            m.put("mem_peak_" + c.label(), (double) backend.memory().peak(c));
        }
        m.put("mem_peak_total", (double) backend.memory().peakTotal());
        List<RunLogStep.Action> actions = new ArrayList<>(r.timings().size());
        for (ActionTiming t : r.timings()) {
            if (!t.action().isCompute()) {
                continue;
            }
            actions.add(new RunLogStep.Action(t.action().kind().symbol(), t.action().stage(),
                    t.action().microbatches().first(), t.action().microbatches().size(), t.startNanos(), t.endNanos(),
                    t.waitNanos()));
        }
        return new RunLogStep(r.step(), m, actions);
    }
}
