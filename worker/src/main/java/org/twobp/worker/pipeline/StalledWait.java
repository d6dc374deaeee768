package org.twobp.worker.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.twobp.mpi.TransportAbortedException;
import org.twobp.mpi.TransportException;
import org.twobp.mpi.TransportTimeoutException;

/**
 * What a rank was waiting for when it gave up: the line it prints, and the same line read back
 * by the launcher's failure report, which names the rank that the others waited for and that
 * said nothing itself (a hung rank cannot speak).
 *
 * <p>Two kinds: the rank <em>timed out</em> (it waited the whole {@code pipeline.timeout_s}), or
 * it <em>stopped</em> (it was still waiting when another rank ended the job). {@code peers} are
 * the ranks it waited for: the other end of a send or receive, or in a collective the ranks that
 * had not arrived (empty where this rank cannot know: under MPI only rank 0 does).
 *
 * @param stage     this rank's stage in that wait, or -1
 * @param step      counted from 1 as in the progress lines, or -1 outside a step
 * @param where     "action I0", "the all-reduce of gradient norm and loss", ...
 * @param peerStage the stage of a single peer, or -1
 * @param what      the rest of the sentence after the peers: "to send the gradient of micro-batch 0"
 * @param seconds   how long it waited, not counting {@code suspended}
 * @param endedBy   the rank that ended the job while this one waited, or -1 (timed out itself)
 * @param suspended seconds this rank's own process did not run during the wait (SIGSTOP, a
 *                  stalled node): a rank that reports this was itself the one not responding
 * @param allArrived a collective that every rank had entered and that still did not complete
 *                  (known on rank 0): a rank stopped inside it
 * @param transport the operation as the transport names it: "irecv tag 12, 131072 bytes"
 */
public record StalledWait(int rank, int stage, int step, String where, List<Integer> peers, int peerStage, String what,
                          double seconds, int endedBy, double suspended, boolean allArrived, String transport) {

    private static final Pattern LINE = Pattern.compile("\\[twobp\\] rank (\\d+)(?: \\(stage (\\d+)\\))?"
            + " (timed out|stopped)(?: at step (\\d+))? in ([^:]*?)"
            + "(?: waiting for ranks? (\\d+(?:(?:, | and )\\d+)*)(?: \\(stage (\\d+)\\))?( to [^:;]*)?)?"
            + ": no answer (?:within|in) ([0-9.]+) s(?:, then rank (\\d+) ended the job)?"
            + "(?:, though this rank was itself suspended for ([0-9.]+) s)?(?: \\(([^)]*)\\))?(; every rank had arrived)?");

    public StalledWait {
        peers = List.copyOf(peers);
    }

    public boolean timedOut() {
        return endedBy < 0;
    }

    /**
     * The wait behind {@code failure} (a transport timeout, or an abort by another rank that cut a
     * wait short, anywhere in its causes), or null when the failure is something else.
     */
    public static StalledWait of(int rank, int stage, int step, String where, int peerStage, String what,
                                 Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof TransportTimeoutException e) {
                boolean p2p = !e.collective();
                return new StalledWait(rank, stage, step, where, e.waitedFor(), p2p ? peerStage : -1,
                        p2p ? what : e.waitedFor().isEmpty() ? "" : "to arrive", e.waited().toMillis() / 1e3, -1,
                        e.suspended().toMillis() / 1e3, !p2p && e.arrivalsKnown() && e.waitedFor().isEmpty(), describe(e));
            }
            if (t instanceof TransportAbortedException e && e.abortingRank() != rank) {
                boolean p2p = e.peer() != TransportException.NONE;
                double seconds = e.waited() == null ? 0 : e.waited().toMillis() / 1e3;
                return new StalledWait(rank, stage, step, where, e.waitedFor(), p2p ? peerStage : -1,
                        p2p ? what : e.waitedFor().isEmpty() ? "" : "to arrive", seconds, e.abortingRank(),
                        e.suspended().toMillis() / 1e3, !p2p && e.arrivalsKnown() && e.waitedFor().isEmpty(), describe(e));
            }
        }
        return null;
    }

    private static String describe(TransportException e) {
        StringBuilder s = new StringBuilder(e.operation());
        if (e.tag() != TransportException.NONE) {
            s.append(" tag ").append(e.tag());
        }
        if (e.bytes() != TransportException.NONE) {
            s.append(", ").append(e.bytes()).append(" bytes");
        }
        return s.toString().replace('(', '[').replace(')', ']').replace(':', ' ');
    }

    /** The line, without the {@code [twobp] } prefix the rank prints before it. */
    public String line() {
        StringBuilder s = new StringBuilder("rank ").append(rank);
        if (stage >= 0) {
            s.append(" (stage ").append(stage).append(')');
        }
        s.append(timedOut() ? " timed out" : " stopped");
        if (step > 0) {
            s.append(" at step ").append(step);
        }
        s.append(" in ").append(where);
        if (!peers.isEmpty()) {
            s.append(" waiting for ").append(TransportException.rankList(peers.stream().mapToInt(Integer::intValue).toArray()));
            if (peerStage >= 0) {
                s.append(" (stage ").append(peerStage).append(')');
            }
            if (!what.isEmpty()) {
                s.append(' ').append(what);
            }
        }
        s.append(String.format(Locale.ROOT, ": no answer %s %.1f s", timedOut() ? "within" : "in", seconds));
        if (!timedOut()) {
            s.append(", then rank ").append(endedBy).append(" ended the job");
        }
        if (suspended > 0) {
            s.append(String.format(Locale.ROOT, ", though this rank was itself suspended for %.1f s", suspended));
        }
        s.append(" (").append(transport).append(')');
        if (allArrived) {
            s.append("; every rank had arrived, so one of them stopped inside it");
        } else if (timedOut()) {
            if (peers.isEmpty()) {
                s.append("; rank 0's report names the ranks that had not arrived");
            } else {
                s.append(peers.size() == 1 ? "; if it is" : "; if they are")
                        .append(" alive but slow, raise pipeline.timeout_s");
            }
        }
        return s.toString();
    }

    /** Reads a line that {@link #line()} wrote (with the {@code [twobp] } prefix), or returns null. */
    public static StalledWait parse(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.find()) {
            return null;
        }
        List<Integer> peers = new ArrayList<>();
        if (m.group(6) != null) {
            for (String p : m.group(6).split(", | and ")) {
                peers.add(Integer.parseInt(p));
            }
        }
        boolean timedOut = m.group(3).equals("timed out");
        if (!timedOut && m.group(10) == null) {
            return null; // a stop always says who ended the job
        }
        return new StalledWait(Integer.parseInt(m.group(1)), m.group(2) == null ? -1 : Integer.parseInt(m.group(2)),
                m.group(4) == null ? -1 : Integer.parseInt(m.group(4)), m.group(5), peers,
                m.group(7) == null ? -1 : Integer.parseInt(m.group(7)), m.group(8) == null ? "" : m.group(8).strip(),
                Double.parseDouble(m.group(9)), timedOut ? -1 : Integer.parseInt(m.group(10)),
                m.group(11) == null ? 0 : Double.parseDouble(m.group(11)), m.group(13) != null,
                m.group(12) == null ? "" : m.group(12));
    }
}
