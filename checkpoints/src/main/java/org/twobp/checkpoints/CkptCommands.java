package org.twobp.checkpoints;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code twobp ckpt ls|verify|convert|bench}: the launcher passes the arguments after
 * {@code ckpt}. Exit codes: 0 done (verify: everything intact), 1 failed (verify: a problem was
 * found), 2 usage error.
 */
public final class CkptCommands {

    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    static final String HELP = String.join("\n",
            "usage: twobp ckpt <command> [arguments]",
            "  ls RUN_DIR [--full]      list the run's checkpoints: step, stages, size, complete or why not,",
            "                           and its stale folders (set aside by a resume) with their sizes",
            "                           (--full also checksums every file)",
            "  ls STEP_DIR              list the tensors of one checkpoint: name, shape, arrays, file",
            "  verify DIR               recompute every checksum of a checkpoint (DIR: a step folder),",
            "                           or of every committed checkpoint of a run (DIR: a run directory)",
            "  convert SRC DST --stages P [--layout L] [--split-mb N]",
            "                           rewrite checkpoint SRC (a step folder, or a run directory: its newest",
            "                           complete one) for P stages into run directory DST. L gives each stage's",
            "                           layers, stages separated by '|', layers by ',', e.g.",
            "                           'embed,blocks.0,blocks.1|blocks.2,blocks.3,head'; a layer covers every",
            "                           tensor named LAYER.*. Without --layout, layers are cut into P runs of",
            "                           about equal size.",
            "  bench DIR [--mb N] [--rounds R]",
            "                           measure save/commit/load/verify MB/s with an N MB checkpoint (default 200)",
            "exit status: 0 ok, 1 failed or damaged, 2 usage error");

    private CkptCommands() {
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || Set.of("-h", "--help", "help").contains(args[0])) {
            (args.length == 0 ? err : out).println(HELP);
            return args.length == 0 ? USAGE : OK;
        }
        try {
            Parsed p = Parsed.of(args);
            return switch (args[0]) {
                case "ls" -> ls(p, out);
                case "verify" -> verify(p, out);
                case "convert" -> convert(p, out);
                case "bench" -> bench(p, out);
                default -> throw new UsageException("unknown command '" + args[0] + "'");
            };
        } catch (UsageException e) {
            err.println("twobp ckpt: " + e.getMessage());
            err.println(HELP);
            return USAGE;
        } catch (CheckpointException e) {
            err.println("twobp ckpt " + args[0] + ": " + e.getMessage());
            return FAILED;
        } catch (IOException e) {
            err.println("twobp ckpt " + args[0] + ": " + e);
            return FAILED;
        }
    }

    private static int ls(Parsed p, PrintStream out) {
        p.allow("--full");
        Path dir = p.onePath("ls RUN_DIR|STEP_DIR");
        if (isStepDir(dir)) {
            CheckpointReader r = CheckpointReader.open(dir);
            out.printf(Locale.ROOT, "%s: step %d, %d stages, %d tensors%n", dir, r.step(), r.stages(),
                    r.tensors().size());
            for (Manifest.TensorRecord t : r.manifest().tensors()) {
                out.printf(Locale.ROOT, "  %-40s %-18s %-28s %s%n", t.name(), TensorInfo.shapeText(t.shape()),
                        String.join(",", t.crcs().keySet()), t.file());
            }
            return OK;
        }
        if (!Files.isDirectory(CheckpointPaths.checkpointsDir(dir))) {
            throw new CheckpointException(dir + " has no " + CheckpointPaths.CHECKPOINTS
                    + " folder; give a run directory (runs/NAME) or a step folder");
        }
        Check check = p.has("--full") ? Check.FULL : Check.QUICK;
        List<CheckpointInfo> all = CheckpointScan.list(dir, check);
        List<CheckpointInfo> stale = CheckpointScan.listStale(dir, check);
        out.printf(Locale.ROOT, "%-10s %-7s %-10s %s%n", "step", "stages", "size", "status");
        for (CheckpointInfo c : all) {
            out.printf(Locale.ROOT, "%-10d %-7s %-10s %s%n", c.step(), c.stages() < 0 ? "?" : c.stages(),
                    size(c.bytes()), c.complete() ? "complete" : c.problem());
        }
        long staleBytes = 0;
        for (CheckpointInfo c : stale) {
            staleBytes += c.bytes();
            out.printf(Locale.ROOT, "%-10d %-7s %-10s stale (%s%s): %s%n", c.step(), c.stages() < 0 ? "?" : c.stages(),
                    size(c.bytes()), c.dir().getFileName(), setAside(c.dir()), c.complete() ? "complete" : c.problem());
        }
        if (all.isEmpty() && stale.isEmpty()) {
            out.println("(no checkpoints)");
        }
        if (!stale.isEmpty()) {
            out.printf(Locale.ROOT, "%d stale folder%s, %s: later steps of histories that a resume abandoned, never"
                    + " resumed from; retention purges each once keep_last checkpoints have reached its step%n",
                    stale.size(), stale.size() == 1 ? "" : "s", size(staleBytes));
        }
        return OK;
    }

    /** ", set aside 2024-05-20 14:03" from the folder's name, or "". */
    private static String setAside(Path dir) {
        long millis = CheckpointPaths.parseStaleTime(dir.getFileName().toString());
        return millis < 0 ? "" : ", set aside " + java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm",
                Locale.ROOT).format(java.time.Instant.ofEpochMilli(millis).atZone(java.time.ZoneId.systemDefault()));
    }

    private static int verify(Parsed p, PrintStream out) {
        p.allow();
        Path dir = p.onePath("verify DIR");
        List<Path> steps = new ArrayList<>();
        boolean wholeRun = !isStepDir(dir) && Files.isDirectory(CheckpointPaths.checkpointsDir(dir));
        if (wholeRun) {
            steps.addAll(CheckpointScan.stepDirs(CheckpointPaths.checkpointsDir(dir)));
            if (steps.isEmpty()) {
                throw new CheckpointException(dir + " has no checkpoints to verify");
            }
        } else {
            steps.add(dir);
        }
        boolean ok = true;
        for (Path s : steps) {
            if (wholeRun && !Manifest.exists(s)) {
                // a save cut short by a crash is normal and never chosen for resume: report it, do not fail
                out.println(s + ": not a checkpoint (no " + CheckpointPaths.MANIFEST + ": the save did not finish)");
                continue;
            }
            VerifyReport r = Verifier.verify(s);
            out.print(r.format());
            ok &= r.ok();
        }
        return ok ? OK : FAILED;
    }

    private static int convert(Parsed p, PrintStream out) {
        p.allow("--stages", "--layout", "--split-mb");
        if (p.positional.size() != 2) {
            throw new UsageException("convert needs SRC and DST, got " + p.positional);
        }
        Path src = Path.of(p.positional.get(0));
        Path dst = Path.of(p.positional.get(1));
        if (p.value("--stages") == null) {
            throw new UsageException("convert needs --stages P");
        }
        int stages = p.intValue("--stages", 1, 1 << 16);
        long splitBytes = p.value("--split-mb") == null ? CheckpointWriter.DEFAULT_SPLIT_BYTES
                : (long) p.intValue("--split-mb", 1, 1024) << 20;
        Layout layout = null;
        if (p.value("--layout") != null) {
            layout = Layout.parse(p.value("--layout"));
            if (layout.stages() != stages) {
                throw new UsageException("--layout has " + layout.stages() + " stages but --stages says " + stages);
            }
        }
        if (!isStepDir(src)) {
            src = ResumeResolver.resolve(src, "latest", Check.QUICK).dir();
        }
        if (layout == null) {
            layout = Layout.balanced(CheckpointReader.open(src).tensors(), stages);
        }
        Manifest m = Converter.convert(src, dst, layout, splitBytes);
        out.printf(Locale.ROOT, "wrote %s: step %d, %d stages, %s%n  layout: %s%n",
                CheckpointPaths.stepDir(dst, m.step()), m.step(), m.stages(), size(m.totalBytes()), layout);
        return OK;
    }

    private static int bench(Parsed p, PrintStream out) throws IOException {
        p.allow("--mb", "--rounds");
        Path dir = p.onePath("bench DIR");
        int mb = p.value("--mb") == null ? 200 : p.intValue("--mb", 1, 1 << 20);
        int rounds = p.value("--rounds") == null ? 3 : p.intValue("--rounds", 1, 100);
        SaveLoadBench.run(dir, mb, rounds, out);
        return OK;
    }

    static boolean isStepDir(Path dir) {
        return Manifest.exists(dir) || CheckpointPaths.parseStep(String.valueOf(dir.getFileName())) >= 0;
    }

    static String size(long bytes) {
        if (bytes < 1_000_000) {
            return String.format(Locale.ROOT, "%.1f kB", bytes / 1e3);
        }
        if (bytes < 1_000_000_000) {
            return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
        }
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }

    private static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** Positional arguments, {@code --flag} and {@code --option value} (or {@code --option=value}). */
    private static final class Parsed {
        final List<String> positional = new ArrayList<>();
        final Map<String, String> options = new HashMap<>();

        static Parsed of(String[] args) {
            Parsed p = new Parsed();
            for (int i = 1; i < args.length; i++) {
                String a = args[i];
                if (a.startsWith("--")) {
                    int eq = a.indexOf('=');
                    if (eq > 0) {
                        p.options.put(a.substring(0, eq), a.substring(eq + 1));
                    } else if (a.equals("--full")) {
                        p.options.put(a, "");
                    } else if (i + 1 < args.length) {
                        p.options.put(a, args[++i]);
                    } else {
                        throw new UsageException(a + " needs a value");
                    }
                } else {
                    p.positional.add(a);
                }
            }
            return p;
        }

        void allow(String... names) {
            for (String o : options.keySet()) {
                if (!List.of(names).contains(o)) {
                    throw new UsageException("unknown option " + o);
                }
            }
        }

        boolean has(String name) {
            return options.containsKey(name);
        }

        String value(String name) {
            return options.get(name);
        }

        int intValue(String name, int min, int max) {
            try {
                int v = Integer.parseInt(options.get(name));
                if (v >= min && v <= max) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UsageException(name + " must be a whole number from " + min + " to " + max + ", got '"
                    + options.get(name) + "'");
        }

        Path onePath(String usage) {
            if (positional.size() != 1) {
                throw new UsageException("usage: " + usage + " (got " + positional.size() + " paths)");
            }
            return Path.of(positional.get(0));
        }
    }
}
