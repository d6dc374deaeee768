/**
 * Simulation without hardware: per-stage costs (modelled or measured), a concatenation model for
 * p2 over several micro-batches and a link model in; per-rank timeline, makespan, bubble ratio and
 * peak stash out.
 */
package org.twobp.worker.schedule.sim;
