package org.twobp.worker.pipeline;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.twobp.mpi.Request;
import org.twobp.mpi.Transport;
import org.twobp.worker.backend.Backend;
import org.twobp.worker.model.MicroBatch;
import org.twobp.worker.model.Model;
import org.twobp.worker.model.StageContext;
import org.twobp.worker.schedule.Action;
import org.twobp.worker.schedule.ActionKind;
import org.twobp.worker.schedule.Placement;
import org.twobp.worker.schedule.Schedule;
import org.twobp.worker.tensor.MemoryCategory;
import org.twobp.worker.tensor.Tensor;

/**
 * Runs one rank's action list for one training step: one loop, one action at a time.
 *
 * <ul>
 *   <li>Every receive of the step is posted before the first action, and sends are
 *       non-blocking, so transfers overlap computation; an action waits only when it needs
 *       data that has not arrived (that wait is timed separately: it is bubble, not work).</li>
 *   <li>Tags come from the message key (direction, stage boundary, micro-batch), so both ends
 *       agree without talking.</li>
 *   <li>Between stages on the same rank (the turn of a V) data is handed over locally.</li>
 *   <li>The stash for p2 lives in the micro-batch's {@link StageContext}; W frees it.</li>
 *   <li>A wait that times out (or that another rank's abort cuts short) is reported as a
 *       {@link StalledWait}: the peer rank and stage, and which message of which micro-batch.</li>
 * </ul>
 * The optimizer step (STEP) is left to the caller: it needs a global gradient norm.
 */
public final class StageExecutor {

    private final Transport transport;
    private final Schedule schedule;
    private final Placement placement;
    private final int rank;
    private final Map<Integer, Model> models;
    private final Backend backend;
    private final int rows;
    private final int dim;
    private final Map<Integer, List<StageContext>> contexts = new HashMap<>();
    private final Map<Integer, FloatBuffer> receiveBuffers = new HashMap<>();
    private final Map<Integer, FloatBuffer> sendBuffers = new HashMap<>();
    /** Stage outputs and input-gradients produced but not yet sent or handed over, by (stage, micro-batch). */
    private final Map<Long, Tensor> pendingOutputs = new HashMap<>();
    private final Map<Long, Tensor> pendingInputGrads = new HashMap<>();
    private final FaultInjection fault;
    /** The send or receive whose message the executor waits on now; else null. */
    private Action waiting;

    /** A send in flight, and the action that started it (to say which message a stuck send carries). */
    private record PendingSend(Request request, Action action) {
    }

    public StageExecutor(Transport transport, Schedule schedule, Map<Integer, Model> models, Backend backend,
                         int microBatchRows, int dim, FaultInjection fault) {
        this.transport = transport;
        this.schedule = schedule;
        this.placement = schedule.placement();
        this.rank = transport.rank();
        this.models = models;
        this.backend = backend;
        this.rows = microBatchRows;
        this.dim = dim;
        this.fault = fault;
        for (int stage : models.keySet()) {
            List<StageContext> list = new ArrayList<>();
            for (int m = 0; m < schedule.microbatches(); m++) {
                list.add(models.get(stage).newContext());
            }
            contexts.put(stage, list);
        }
    }

    /**
     * Runs every action but STEP; returns what ran when. {@code step} counts from 0;
     * {@code stepStart} is the step's clock zero.
     */
    public List<ActionTiming> run(int step, List<MicroBatch> microBatches, long stepStart) {
        List<Action> actions = schedule.actions(rank);
        List<ActionTiming> timings = new ArrayList<>(actions.size());
        Map<Integer, Request> receives = new HashMap<>();
        List<PendingSend> sends = new ArrayList<>();
        Action current = null;
        waiting = null;
        try {
            for (Action a : actions) {
                if (a.kind().isReceive()) {
                    current = a;
                    int tag = tag(a);
                    FloatBuffer buf = receiveBuffers.computeIfAbsent(tag, t -> commBuffer());
                    buf.clear();
                    receives.put(tag, transport.irecv(buf, a.peer(), tag));
                }
            }
            for (Action a : actions) {
                current = a;
                if (fault != null && fault.hits(rank, step + 1, a.kind())) {
                    throw new IllegalStateException("injected failure (fault injection " + fault + ")");
                }
                long start = System.nanoTime();
                long wait = 0;
                switch (a.kind()) {
                    case RECV_F, RECV_B, STEP -> {
                        continue; // receives were posted up front; the optimizer step is the caller's
                    }
                    case F -> wait = forward(a, microBatches.get(a.microbatch()), receives);
                    case I, B -> wait = backward(a, receives);
                    case W -> weights(a);
                    case SEND_F -> send(a, pendingOutputs, sends, true);
                    case SEND_B -> send(a, pendingInputGrads, sends, false);
                    default -> throw new IllegalStateException("unknown action kind " + a.kind());
                }
                if (!a.kind().isSend()) {
                    backend.synchronize(); // a GPU runs the action asynchronously: time its end, not its issue
                }
                long end = System.nanoTime();
                timings.add(new ActionTiming(a, start - stepStart, end - stepStart, wait));
            }
            current = Action.step();
            for (PendingSend s : sends) {
                waiting = s.action();
                s.request().await();
                waiting = null;
            }
            return timings;
        } catch (RuntimeException e) {
            for (List<StageContext> list : contexts.values()) {
                list.forEach(StageContext::releaseAll);
            }
            pendingOutputs.clear();
            pendingInputGrads.clear();
            boolean atEnd = current != null && current.kind() == ActionKind.STEP;
            String text = current == null ? "start of step" : atEnd ? "the sends at the end of the step"
                    : schedule.text(current);
            int stage = current == null || atEnd ? soleStage() : current.stage();
            StalledWait stalled = waiting == null ? null : StalledWait.of(rank, stage, step + 1,
                    atEnd ? text : "action " + text, peerStage(waiting), awaited(waiting), e);
            waiting = null;
            if (stalled != null) {
                throw new PipelineException(stalled, e);
            }
            throw new PipelineException(rank, stage, step + 1, text, e);
        }
    }

    /** This rank's stage when it has one (not a V or interleaved schedule), else -1. */
    int soleStage() {
        return models.size() == 1 ? models.keySet().iterator().next() : -1;
    }

    /** The stage at the other end of a send or receive. */
    private static int peerStage(Action a) {
        boolean towardsLater = a.kind() == ActionKind.SEND_F || a.kind() == ActionKind.RECV_B;
        return towardsLater ? a.stage() + 1 : a.stage() - 1;
    }

    /** What a wait on {@code a} waits for, worded from the peer's side ("to send the gradient of micro-batch 2"). */
    private static String awaited(Action a) {
        boolean activation = a.kind() == ActionKind.SEND_F || a.kind() == ActionKind.RECV_F;
        return (a.kind().isReceive() ? "to send the " : "to receive the ") + (activation ? "activation" : "gradient")
                + " of micro-batch " + a.microbatch();
    }

    private long forward(Action a, MicroBatch mb, Map<Integer, Request> receives) {
        int s = a.stage();
        Model model = models.get(s);
        StageContext ctx = contexts.get(s).get(a.microbatch());
        long wait = 0;
        if (s > 0) {
            Tensor in = model.inputBuffer(ctx, mb);
            if (placement.rankOf(s - 1) == rank) {
                Tensor out = pendingOutputs.remove(key(s - 1, a.microbatch()));
                backend.copy(out, in);
                contexts.get(s - 1).get(a.microbatch()).releaseOutput();
            } else {
                wait = receiveInto(receives, new Action(ActionKind.RECV_F, s, a.microbatches(), placement.rankOf(s - 1)), in);
            }
        }
        Tensor out = model.forward(ctx, mb);
        if (out != null) {
            pendingOutputs.put(key(s, a.microbatch()), out);
        }
        return wait;
    }

    private long backward(Action a, Map<Integer, Request> receives) {
        int s = a.stage();
        Model model = models.get(s);
        StageContext ctx = contexts.get(s).get(a.microbatch());
        long wait = 0;
        if (s < placement.stages() - 1) {
            Tensor dy = model.outputGradBuffer(ctx);
            if (placement.rankOf(s + 1) == rank) {
                Tensor g = pendingInputGrads.remove(key(s + 1, a.microbatch()));
                backend.copy(g, dy);
                contexts.get(s + 1).get(a.microbatch()).releaseInputGrad();
            } else {
                wait = receiveInto(receives, new Action(ActionKind.RECV_B, s, a.microbatches(), placement.rankOf(s + 1)), dy);
            }
        }
        Tensor dx = a.kind() == ActionKind.I ? model.backwardInput(ctx) : model.backward(ctx);
        if (dx != null) {
            pendingInputGrads.put(key(s, a.microbatch()), dx);
        }
        return wait;
    }

    private void weights(Action a) {
        List<StageContext> ctxs = new ArrayList<>(a.microbatches().size());
        for (int m : a.microbatches().toArray()) {
            ctxs.add(contexts.get(a.stage()).get(m));
        }
        models.get(a.stage()).backwardWeight(ctxs);
    }

    private void send(Action a, Map<Long, Tensor> pending, List<PendingSend> sends, boolean forward) {
        int tag = tag(a);
        Tensor t = pending.remove(key(a.stage(), a.microbatch()));
        if (t == null) {
            throw new IllegalStateException(schedule.text(a) + " has nothing to send: its producer did not run first");
        }
        FloatBuffer buf = sendBuffers.computeIfAbsent(tag, x -> commBuffer());
        buf.clear();
        backend.copyToBuffer(t, buf);
        sends.add(new PendingSend(transport.isend(buf, a.peer(), tag), a));
        StageContext ctx = contexts.get(a.stage()).get(a.microbatch());
        if (forward) {
            ctx.releaseOutput();
        } else {
            ctx.releaseInputGrad();
        }
    }

    /** Waits for the message of {@code recv} and copies it into {@code dst}; returns the nanoseconds waited. */
    private long receiveInto(Map<Integer, Request> receives, Action recv, Tensor dst) {
        int tag = tag(recv);
        Request r = receives.remove(tag);
        if (r == null) {
            throw new IllegalStateException(schedule.text(recv) + " was never posted: the schedule has no matching receive");
        }
        waiting = recv;
        long w0 = System.nanoTime();
        int n = r.await();
        long waited = System.nanoTime() - w0;
        waiting = null;
        if (n != rows * dim) {
            throw new IllegalStateException(schedule.text(recv) + ": received " + n + " floats, expected " + rows * dim
                    + " (" + rows + " rows x " + dim + "); do both ends use the same micro-batch size and model?");
        }
        backend.copyFromBuffer(receiveBuffers.get(tag), dst);
        return waited;
    }

    private FloatBuffer commBuffer() {
        FloatBuffer b = backend.allocateTransferBuffer(rows * dim);
        backend.memory().allocated(MemoryCategory.COMMUNICATION, (long) rows * dim * Float.BYTES);
        return b;
    }

    private int tag(Action a) {
        return a.messageKey().tag(placement.stages(), schedule.microbatches());
    }

    private static long key(int stage, int microbatch) {
        return ((long) stage << 32) | microbatch;
    }

    /** The contexts of one of this rank's stages, indexed by micro-batch (loss and accuracy live there). */
    List<StageContext> contexts(int stage) {
        return contexts.get(stage);
    }

    /** Peak stash bytes are tracked by the backend; this is the live count of in-flight contexts' stash now. */
    public long stashBytesNow() {
        long n = 0;
        for (List<StageContext> list : contexts.values()) {
            for (StageContext c : list) {
                n += c.stashBytes();
            }
        }
        return n;
    }
}
