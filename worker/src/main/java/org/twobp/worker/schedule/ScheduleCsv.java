package org.twobp.worker.schedule;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Schedules as CSV, so that a user can write one by hand (or in a spreadsheet) and run it.
 *
 * <pre>
 * # twobp schedule: ranks=2 stages=2 microbatches=2 placement=loop name=my schedule
 * F0,F1,,I0,W0,I1,W1
 * ,F0,I0,F1,I1,W[0-1]
 * </pre>
 * Row r is rank r's action list in order; empty cells are ignored, so bubbles can be left blank to
 * line the rows up in time. Lines starting with {@code #} are comments; the header comment is
 * optional: without it the placement is one stage per rank (or read from stage prefixes such as
 * {@code 5F3}) and the micro-batch count is the largest micro-batch plus one. Compute-only files
 * are lowered (sends, receives, STEP added) by whoever runs them; lowered files are taken as is.
 */
public final class ScheduleCsv {
    private static final String HEADER = "# twobp schedule:";
    private static final Pattern PREFIX = Pattern.compile("(\\d+)(SEND_F|RECV_F|SEND_B|RECV_B|F|I|W|B).*");

    private ScheduleCsv() {
    }

    public static void write(Schedule schedule, Path file) {
        try {
            Files.writeString(file, format(schedule), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ScheduleException("cannot write schedule CSV " + file + ": " + e.getMessage(), e);
        }
    }

    public static Schedule read(Path file) {
        try {
            return parse(Files.readString(file, StandardCharsets.UTF_8), file.getFileName().toString());
        } catch (IOException e) {
            throw new ScheduleException("cannot read schedule CSV " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The CSV text. A compute-only schedule is written lined up in time (each action in the column
     * of its idealised grid slot, bubbles as empty cells); a lowered one as plain lists.
     */
    public static String format(Schedule schedule) {
        StringBuilder sb = new StringBuilder();
        sb.append(HEADER).append(" ranks=").append(schedule.ranks()).append(" stages=").append(schedule.stages())
                .append(" microbatches=").append(schedule.microbatches())
                .append(" placement=").append(schedule.placement().describe())
                .append(" name=").append(schedule.name()).append('\n');
        InOrderExecution.Result slots = schedule.hasCommunication() ? null : InOrderExecution.runLenient(schedule,
                new InOrderExecution.Timing() {
                    @Override
                    public double duration(int rank, Action action) {
                        return ScheduleGrid.idealisedSlots(action);
                    }

                    @Override
                    public double transferTime(MessageKey message) {
                        return 0;
                    }
                });
        for (int r = 0; r < schedule.ranks(); r++) {
            List<Action> list = schedule.actions(r);
            List<String> cells = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                if (slots != null) {
                    int column = (int) Math.round(slots.start()[r][i]);
                    while (cells.size() < column) {
                        cells.add("");
                    }
                }
                cells.add(quote(schedule.text(list.get(i))));
            }
            sb.append(String.join(",", cells)).append('\n');
        }
        return sb.toString();
    }

    /** Reads CSV text; {@code source} names the input in error messages. */
    public static Schedule parse(String text, String source) {
        Map<String, String> header = new HashMap<>();
        List<List<String>> rows = new ArrayList<>();
        List<Integer> lineOfRow = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n].strip();
            if (line.startsWith(HEADER)) {
                readHeader(line.substring(HEADER.length()), header);
                continue;
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            rows.add(cells(line));
            lineOfRow.add(n + 1);
        }
        if (rows.isEmpty()) {
            throw new ScheduleException(source
                    + ": no rows; write one line of actions per rank, e.g. F0,F1,I0,W0,I1,W1");
        }
        int ranks = intValue(header, "ranks", rows.size(), source);
        if (ranks != rows.size()) {
            throw new ScheduleException(source + ": the header says ranks=" + ranks + " but there are "
                    + rows.size() + " rows; write one row per rank");
        }
        Placement placement = header.containsKey("placement")
                ? Placement.parse(header.get("placement"), ranks, intValue(header, "stages", ranks, source))
                : inferPlacement(rows, lineOfRow, source);
        List<List<Action>> actions = new ArrayList<>();
        int largest = -1;
        for (int r = 0; r < ranks; r++) {
            List<Action> list = new ArrayList<>();
            for (String cell : rows.get(r)) {
                Action a;
                try {
                    a = Action.parse(cell, r, placement);
                } catch (ScheduleException e) {
                    throw new ScheduleException(source + " line " + lineOfRow.get(r) + ": " + e.getMessage(), e);
                }
                if (!a.microbatches().isEmpty()) {
                    largest = Math.max(largest, a.microbatches().last());
                }
                list.add(a);
            }
            actions.add(list);
        }
        int microbatches = intValue(header, "microbatches", largest + 1, source);
        String name = header.getOrDefault("name", source);
        return new Schedule(name, placement, microbatches, actions);
    }

    /** A p2 over a list of micro-batches ({@code W[1,3]}) holds a comma, so it is quoted. */
    private static String quote(String cell) {
        return cell.contains(",") ? "\"" + cell + "\"" : cell;
    }

    /** The non-empty cells of a line; double quotes protect commas. */
    private static List<String> cells(String line) {
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i <= line.length(); i++) {
            char c = i < line.length() ? line.charAt(i) : ',';
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                if (!cell.toString().isBlank()) {
                    cells.add(cell.toString().strip());
                }
                cell.setLength(0);
            } else {
                cell.append(c);
            }
        }
        return cells;
    }

    private static void readHeader(String text, Map<String, String> header) {
        String rest = text.strip();
        int name = rest.indexOf("name=");
        if (name >= 0) {
            header.put("name", rest.substring(name + "name=".length()).strip());
            rest = rest.substring(0, name);
        }
        for (String token : rest.split("\\s+")) {
            int eq = token.indexOf('=');
            if (eq > 0) {
                header.put(token.substring(0, eq), token.substring(eq + 1));
            }
        }
    }

    private static int intValue(Map<String, String> header, String key, int fallback, String source) {
        String v = header.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new ScheduleException(source + ": header value " + key + "=" + v + " is not a whole number");
        }
    }

    /** Stage prefixes say which rank holds which stage; without any, stage r is on rank r. */
    private static Placement inferPlacement(List<List<String>> rows, List<Integer> lineOfRow, String source) {
        Map<Integer, Integer> rankOfStage = new HashMap<>();
        for (int r = 0; r < rows.size(); r++) {
            for (String cell : rows.get(r)) {
                Matcher m = PREFIX.matcher(cell);
                if (!m.matches()) {
                    continue;
                }
                int stage = Integer.parseInt(m.group(1));
                Integer other = rankOfStage.putIfAbsent(stage, r);
                if (other != null && other != r) {
                    throw new ScheduleException(source + " line " + lineOfRow.get(r) + ": stage " + stage
                            + " appears on rank " + other + " and on rank " + r + "; a stage lives on one rank");
                }
            }
        }
        if (rankOfStage.isEmpty()) {
            return Placement.oneStagePerRank(rows.size());
        }
        int stages = rankOfStage.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        int[] map = new int[stages];
        for (int s = 0; s < stages; s++) {
            Integer r = rankOfStage.get(s);
            if (r == null) {
                throw new ScheduleException(source + ": stage " + s + " appears on no rank; stages 0.."
                        + (stages - 1) + " must all be placed (or give placement= in the header)");
            }
            map[s] = r;
        }
        return Placement.explicit(rows.size(), map);
    }
}
