package org.twobp.datasets;

/** A 64-bit hash of the facts that define a dataset's sample stream; stored in {@link DataPosition}. */
final class Fingerprint {

    private Fingerprint() {
    }

    static long of(Object... parts) {
        long h = 0x74776f6270646174L;
        for (Object part : parts) {
            String s = String.valueOf(part);
            for (int i = 0; i < s.length(); i++) {
                h = SplitMix64.mix64(h + s.charAt(i));
            }
            h = SplitMix64.mix64(h ^ 0x1F);
        }
        return h;
    }
}
