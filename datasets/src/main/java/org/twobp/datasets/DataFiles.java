package org.twobp.datasets;

import java.nio.file.Files;
import java.nio.file.Path;

/** Checks that a data file named in a spec can be read, with errors that say what to fix. */
final class DataFiles {

    private DataFiles() {
    }

    static Path requireReadableFile(String location, String kind) {
        if (location == null || location.isBlank()) {
            throw new DatasetException("the data spec '" + kind + ":' names no file; write the path after the colon,"
                    + " e.g. " + kind + ":data/train.bin");
        }
        Path path = Path.of(location);
        if (!Files.exists(path)) {
            throw new DatasetException("data file not found: " + location + " (looked for "
                    + path.toAbsolutePath().normalize() + "); check the path in the data spec, relative paths are"
                    + " resolved against the working directory");
        }
        if (Files.isDirectory(path)) {
            throw new DatasetException("data path " + location + " is a directory; name a file inside it in the data spec");
        }
        if (!Files.isReadable(path)) {
            throw new DatasetException("data file " + location + " is not readable by this user; fix its permissions");
        }
        return path;
    }
}
