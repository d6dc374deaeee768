/**
 * Simulation without hardware: costs and a link model in; per-rank timeline, makespan, bubble
 * ratio and peak stash out. Costs are either per stage ({@link org.twobp.worker.schedule.sim.CostModel}:
 * modelled, or estimated from measurements, with a concatenation model for p2 over several
 * micro-batches) or the measured time of every action of one run
 * ({@link org.twobp.worker.schedule.sim.MeasuredCosts}), which replays that run.
 */
package org.twobp.worker.schedule.sim;
