package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.twobp.datasets.Datasets;
import org.twobp.datasets.TokenDataset;
import org.twobp.mpi.RankInfo;
import org.twobp.mpi.ReduceOp;
import org.twobp.mpi.Request;
import org.twobp.mpi.ThreadTransport;
import org.twobp.mpi.Transport;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.backend.cpu.CpuBackend;
import org.twobp.worker.model.ModelConfig;
import org.twobp.worker.train.TrainConfig;

/**
 * A rank that hangs inside an action (it sleeps in its first send of step 2, as a SIGSTOPped
 * process would) is named by the ranks that wait for it: each says which rank and stage it
 * waited for, on which message of which micro-batch and step.
 */
class HungRankTest {

    /** Embedding, 2 blocks, head: one block per stage on 4 ranks. */
    static ModelConfig model() {
        return new ModelConfig("hang-test", 32, 2, 4, 2, 48, 16, 12, 10000.0, 1e-5, 7, 0.1, "rmsnorm", "swiglu");
    }

    static TrainConfig train() {
        return TrainConfig.of(Map.of("data", "synthetic:copy?length=4", "steps", 3L, "batch_size", 2L,
                "micro_batches", 1L, "lr", 1e-2, "min_lr", 1e-3, "warmup_steps", 1L, "grad_clip", 1.0, "seed", 3L,
                "optimizer", "sgd"));
    }

    @Test
    void theRanksAroundAHungRankNameIt() {
        PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", "1f1b-1", "two_bp", true));
        long start = System.nanoTime();
        RuntimeException e = assertThrows(RuntimeException.class, () -> ThreadTransport.run(4, t -> {
            t.setTimeout(Duration.ofSeconds(3));
            HangingTransport transport = new HangingTransport(t);
            try (Backend backend = new CpuBackend(1);
                 TokenDataset data = Datasets.open(train().data(), model().seqLen(), model().vocabSize(), 3)) {
                PipelineTrainer trainer = new PipelineTrainer(transport, model(), train(), pipe, backend, null);
                trainer.step(data.next(trainer.globalBatchSize()));
                transport.hangAtNextSend = t.rank() == 2;
                trainer.step(data.next(trainer.globalBatchSize()));
            }
        }));
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<Integer, StalledWait> waits = waits(e);
        waits.values().forEach(w -> System.out.println("[twobp] " + w.line()));
        assertEquals(List.of(0, 1, 3), new ArrayList<>(waits.keySet()), "the ranks that waited: " + waits);
        for (int r : List.of(1, 3)) {
            StalledWait w = waits.get(r);
            assertEquals(List.of(2), w.peers(), w.line());
            assertEquals(2, w.peerStage(), w.line());
            assertEquals(2, w.step(), w.line());
            assertTrue(w.line().startsWith("rank " + r + " (stage " + r + ") ") && w.line().contains(
                    " at step 2 in action ") && w.line().contains(" waiting for rank 2 (stage 2) to send the "
                    + (r == 3 ? "activation" : "gradient") + " of micro-batch "), w.line());
        }
        assertEquals(List.of(1), waits.get(0).peers(), "rank 0 waits for rank 1, itself waiting: " + waits.get(0).line());
        assertTrue(waits.values().stream().anyMatch(StalledWait::timedOut), "one rank timed out: " + waits);
        for (StalledWait w : waits.values()) {
            assertTrue(w.timedOut() || waits.containsKey(w.endedBy()), "ended by a rank that timed out: " + w.line());
        }
        assertTrue(seconds < 15, "the job took " + seconds + " s to end around a hung rank");
    }

    /**
     * Every rank's wait, from the PipelineExceptions among the job's failures; the hung rank (2),
     * interrupted when the job ends, is the only one whose failure is not a wait.
     */
    private static Map<Integer, StalledWait> waits(Throwable first) {
        List<Throwable> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(first.getSuppressed()));
        Map<Integer, StalledWait> m = new TreeMap<>();
        for (Throwable t : all) {
            if (t instanceof PipelineException p) {
                if (p.rank() == 2) {
                    assertTrue(p.getMessage().contains("interrupted by the abort"), p.getMessage());
                    continue;
                }
                assertNotNull(p.stalledWait(), "a wait, not a failure of the rank's own: " + p);
                m.put(p.rank(), p.stalledWait());
            }
        }
        return m;
    }

    /** A rank's transport that, once told to, never returns from its next send. */
    private static final class HangingTransport implements Transport {
        private final Transport inner;
        volatile boolean hangAtNextSend;

        HangingTransport(Transport inner) {
            this.inner = inner;
        }

        private void maybeHang() {
            if (hangAtNextSend) {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("the hung rank was interrupted by the abort", e);
                }
            }
        }

        @Override public int rank() { return inner.rank(); }

        @Override public int size() { return inner.size(); }

        @Override public RankInfo rankInfo() { return inner.rankInfo(); }

        @Override public int maxTag() { return inner.maxTag(); }

        @Override public Duration timeout() { return inner.timeout(); }

        @Override public void setTimeout(Duration timeout) { inner.setTimeout(timeout); }

        @Override public Request isend(FloatBuffer data, int dest, int tag) {
            maybeHang();
            return inner.isend(data, dest, tag);
        }

        @Override public Request irecv(FloatBuffer data, int source, int tag) { return inner.irecv(data, source, tag); }

        @Override public Request isend(ByteBuffer data, int dest, int tag) {
            maybeHang();
            return inner.isend(data, dest, tag);
        }

        @Override public Request irecv(ByteBuffer data, int source, int tag) { return inner.irecv(data, source, tag); }

        @Override public void allreduce(double[] values, ReduceOp op) { inner.allreduce(values, op); }

        @Override public void barrier() { inner.barrier(); }

        @Override public void abort(int code, String message) { inner.abort(code, message); }

        @Override public void close() { inner.close(); }
    }
}
