package org.twobp.checkpoints;

import java.nio.file.Path;
import java.util.List;

/** The result of {@link Verifier#verify}: problems of the checkpoint as a whole, and per file. */
public record VerifyReport(Path dir, long step, List<String> problems, List<FileReport> files) {

    /** One stage file: its size, how many tensors were checked, and what was wrong. */
    public record FileReport(String file, long bytes, int tensorsChecked, List<String> problems) {
        public FileReport {
            problems = List.copyOf(problems);
        }

        public boolean ok() {
            return problems.isEmpty();
        }
    }

    public VerifyReport {
        problems = List.copyOf(problems);
        files = List.copyOf(files);
    }

    public boolean ok() {
        return problems.isEmpty() && files.stream().allMatch(FileReport::ok);
    }

    /** Text for people: one line per file, then each problem indented. */
    public String format() {
        StringBuilder sb = new StringBuilder();
        sb.append(dir).append(": ").append(ok() ? "OK" : "FAILED").append('\n');
        for (String p : problems) {
            sb.append("  ").append(p).append('\n');
        }
        for (FileReport f : files) {
            sb.append("  ").append(f.file()).append("  ").append(f.bytes()).append(" bytes  ")
                    .append(f.tensorsChecked()).append(" tensors  ").append(f.ok() ? "ok" : "FAILED").append('\n');
            for (String p : f.problems()) {
                sb.append("    ").append(p).append('\n');
            }
        }
        return sb.toString();
    }
}
