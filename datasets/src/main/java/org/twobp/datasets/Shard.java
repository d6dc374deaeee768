package org.twobp.datasets;

/**
 * One of {@code count} data-parallel replicas. Replica {@code index} takes the global samples
 * index, index+count, index+2*count, ... so the replicas' streams are disjoint and together
 * cover the single-replica stream: batch j of every replica, each of b rows, holds exactly the
 * global samples [j*b*count, (j+1)*b*count), the rows of batch j of one unsharded dataset with
 * batch size b*count (in another order).
 */
public record Shard(int index, int count) {

    public static final Shard WHOLE = new Shard(0, 1);

    public Shard {
        if (count < 1 || index < 0 || index >= count) {
            throw new DatasetException("shard " + index + " of " + count + " does not exist; the shard count must be"
                    + " at least 1 and the index in 0..count-1 (one shard per data-parallel replica)");
        }
    }

    /** Global sample number of this shard's local sample {@code local}. */
    public long globalSample(long local) {
        return Math.addExact(Math.multiplyExact(local, (long) count), index);
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }
}
