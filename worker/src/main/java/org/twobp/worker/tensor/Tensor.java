package org.twobp.worker.tensor;

import java.util.Arrays;

/**
 * A dense, row-major float32 tensor: a shape and an offset into a backend's {@link Storage}.
 *
 * <p>A tensor made by {@code Backend.allocate} owns its storage and is returned with
 * {@code Backend.free}; {@link #view} and {@link #reshape} give tensors that share it and own
 * nothing. Element access goes through the backend, so the same layer code runs wherever the
 * storage lives.
 */
public final class Tensor {

    private final Storage storage;
    private final int offset;
    private final int[] shape;
    private final int size;
    private final boolean owner;
    private final Tensor root;
    private MemoryCategory category;
    private boolean freed;

    private Tensor(Storage storage, int offset, int[] shape, MemoryCategory category, Tensor root) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape;
        this.size = sizeOf(shape);
        this.category = category;
        this.owner = root == null;
        this.root = root;
        if (offset < 0 || (long) offset + size > storage.capacity()) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " at offset " + offset
                    + " does not fit a storage of " + storage.capacity() + " elements");
        }
    }

    /** For backends: a tensor that owns {@code storage}, starting at element 0. */
    public static Tensor owning(Storage storage, MemoryCategory category, int... shape) {
        return new Tensor(storage, 0, shape.clone(), category, null);
    }

    public static int sizeOf(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n
                    + " elements; one tensor holds at most 2^31-1");
        }
        return (int) n;
    }

    public Storage storage() {
        checkLive();
        return storage;
    }

    /** Offset of element 0 in the storage, in elements. */
    public int offset() {
        return offset;
    }

    public int size() {
        return size;
    }

    public long bytes() {
        return 4L * size;
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int[] shape() {
        return shape.clone();
    }

    /** Size of the last dimension: the row length of the tensor seen as a matrix. */
    public int cols() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    /** Product of all dimensions but the last: the row count of the tensor seen as a matrix. */
    public int rows() {
        return cols() == 0 ? 0 : size / cols();
    }

    public boolean isOwner() {
        return owner;
    }

    public MemoryCategory category() {
        return owner ? category : root.category;
    }

    /** For backends, when a buffer changes purpose. */
    public void setCategory(MemoryCategory category) {
        if (!owner) {
            throw new IllegalStateException("only the tensor that owns an allocation can change its category");
        }
        this.category = category;
    }

    /** For backends: marks the tensor as returned, so later use fails loudly. */
    public void markFreed() {
        if (!owner) {
            throw new IllegalStateException("a view of shape " + Arrays.toString(shape)
                    + " cannot be freed; free the tensor it was taken from");
        }
        if (freed) {
            throw new IllegalStateException("tensor of shape " + Arrays.toString(shape) + " (" + category.label()
                    + ") was freed twice");
        }
        freed = true;
    }

    public boolean isFreed() {
        return owner ? freed : root.freed;
    }

    /** Elements [from, from + size(shape)) of this tensor, seen with {@code shape}. */
    public Tensor view(int from, int... shape) {
        checkLive();
        int n = sizeOf(shape);
        if (from < 0 || from + n > size) {
            throw new IllegalArgumentException("view of shape " + Arrays.toString(shape) + " at " + from
                    + " is outside a tensor of shape " + Arrays.toString(this.shape));
        }
        return new Tensor(storage, offset + from, shape.clone(), category, owner ? this : root);
    }

    /** Rows [from, from + count) of this tensor seen as a matrix of {@link #cols()} columns. */
    public Tensor rowSlice(int from, int count) {
        return view(from * cols(), count, cols());
    }

    public Tensor reshape(int... shape) {
        if (sizeOf(shape) != size) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(this.shape) + " to "
                    + Arrays.toString(shape));
        }
        return view(0, shape);
    }

    /** True when {@code next} starts right where this tensor ends, in the same storage. */
    public boolean isFollowedBy(Tensor next) {
        return next.storage == storage && next.offset == offset + size;
    }

    private void checkLive() {
        if (isFreed()) {
            throw new IllegalStateException("tensor of shape " + Arrays.toString(shape) + " (" + category().label()
                    + ") was used after it was freed");
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + "(" + category().label() + (owner ? "" : ", view") + ")";
    }
}
