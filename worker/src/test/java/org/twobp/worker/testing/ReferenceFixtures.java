package org.twobp.worker.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** The committed PyTorch reference fixtures of tests/reference/fixtures (see make_fixtures.py there). */
public final class ReferenceFixtures {

    private ReferenceFixtures() {
    }

    /** The fixture file {@code name}.h5, found from the worker module or the repository root. */
    public static Path fixture(String name) {
        for (String dir : new String[] {"../tests/reference/fixtures", "tests/reference/fixtures"}) {
            Path p = Path.of(dir, name + ".h5");
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new AssertionError("fixture " + name + ".h5 not found under tests/reference/fixtures (looked relative to "
                + Path.of("").toAbsolutePath() + "); regenerate with /usr/bin/python3 tests/reference/make_fixtures.py "
                + name);
    }
}
