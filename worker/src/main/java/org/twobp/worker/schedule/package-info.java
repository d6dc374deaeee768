/**
 * Pipeline schedules as data: what every rank does in one training step, in order.
 *
 * <p>Vocabulary (the 2BP paper's): a <em>stage</em> is a piece of the model on one rank (with V
 * chunks per rank, a virtual stage); a <em>micro-batch</em> is a slice of the batch; F is the
 * forward, I (p1) the backward-input, W (p2) the backward-weight, B the fused backward of the
 * no-2BP baseline; the <em>stash</em> is what a micro-batch keeps alive from its F to its last
 * backward piece; a <em>bubble</em> is a rank waiting.
 *
 * <p>For the executor: {@link org.twobp.worker.schedule.Schedule#actions(int)} of a lowered
 * schedule ({@link org.twobp.worker.schedule.Lowering#addCommunication}, validated by
 * {@link org.twobp.worker.schedule.ScheduleValidator}) is one rank's program. Run it in order:
 * a RECV posts a non-blocking receive (post them all early if you like; the consuming F, I or B
 * waits on it), a SEND posts a non-blocking send of the data the action before it produced,
 * compute actions run their stage, and STEP (last) steps the optimizer of every stage the rank
 * holds (outstanding sends must complete before their buffers are reused in the next step).
 * {@link org.twobp.worker.schedule.Action#peer()} names the other rank and
 * {@link org.twobp.worker.schedule.Action#messageKey()} gives both ends the same
 * {@link org.twobp.worker.schedule.MessageKey#tag(int, int)}, so no matching order is needed.
 * Adjacent stages on one rank (the turn of a V) hand data over locally.
 *
 * <p>Subpackages: {@code gen} the hand-written schedules, {@code auto} the automatic one,
 * {@code sim} the simulator and cost models, {@code picture} text and PNG timelines.
 */
package org.twobp.worker.schedule;
