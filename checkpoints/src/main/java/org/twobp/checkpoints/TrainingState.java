package org.twobp.checkpoints;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Everything besides tensors that a stage needs to continue exactly where it stopped: the step,
 * the learning-rate schedule's state, the random generators' states, the dataset position, the
 * resolved configuration and the schedule description, plus model attributes (vocabulary size,
 * width, ...) that a resume compares before loading anything.
 *
 * <p>Built with {@code with...} calls:
 * <pre>
 *   TrainingState.at(500).withLr("lr", 3e-4).withRng("dropout", rng.state())
 *                .withDataPosition(pos.toLongs()).withConfig(toml).withSchedule("1F1B-2bp")
 *                .withModel("vocab_size", "50257");
 * </pre>
 */
public record TrainingState(long step, Map<String, Double> lrSchedule, Map<String, long[]> rngStates,
                            long[] dataPosition, String dataPositionText, String config, String schedule,
                            Map<String, String> model) {

    /** Small values are HDF5 attributes, and jhdf corrupts attributes above ~32 KiB. */
    static final int MAX_ATTRIBUTE_TEXT = 16 * 1024;

    public TrainingState {
        if (step < 0) {
            throw new CheckpointException("a checkpoint step counts from 0, got " + step);
        }
        lrSchedule = copy(lrSchedule, "learning-rate schedule key");
        rngStates = copyRng(rngStates);
        model = copyModel(model);
        dataPosition = dataPosition == null ? new long[0] : dataPosition.clone();
        dataPositionText = checkText("data position text", dataPositionText == null ? "" : dataPositionText);
        config = config == null ? "" : config;
        schedule = schedule == null ? "" : schedule;
    }

    public static TrainingState at(long step) {
        return new TrainingState(step, Map.of(), Map.of(), new long[0], "", "", "", Map.of());
    }

    public TrainingState withStep(long newStep) {
        return new TrainingState(newStep, lrSchedule, rngStates, dataPosition, dataPositionText, config, schedule,
                model);
    }

    public TrainingState withLr(String key, double value) {
        Map<String, Double> m = new LinkedHashMap<>(lrSchedule);
        m.put(key, value);
        return new TrainingState(step, m, rngStates, dataPosition, dataPositionText, config, schedule, model);
    }

    public TrainingState withRng(String key, long... state) {
        Map<String, long[]> m = new LinkedHashMap<>(rngStates);
        m.put(key, state);
        return new TrainingState(step, lrSchedule, m, dataPosition, dataPositionText, config, schedule, model);
    }

    public TrainingState withDataPosition(long... position) {
        return new TrainingState(step, lrSchedule, rngStates, position, dataPositionText, config, schedule, model);
    }

    public TrainingState withDataPositionText(String text) {
        return new TrainingState(step, lrSchedule, rngStates, dataPosition, text, config, schedule, model);
    }

    public TrainingState withConfig(String text) {
        return new TrainingState(step, lrSchedule, rngStates, dataPosition, dataPositionText, text, schedule, model);
    }

    public TrainingState withSchedule(String text) {
        return new TrainingState(step, lrSchedule, rngStates, dataPosition, dataPositionText, config, text, model);
    }

    public TrainingState withModel(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(model);
        m.put(key, value);
        return new TrainingState(step, lrSchedule, rngStates, dataPosition, dataPositionText, config, schedule, m);
    }

    @Override
    public long[] dataPosition() {
        return dataPosition.clone();
    }

    /** The state of generator {@code key}; fails naming the generators there are. */
    public long[] rng(String key) {
        long[] s = rngStates.get(key);
        if (s == null) {
            throw new CheckpointException("no random generator state named " + key + " in the checkpoint; it holds "
                    + rngStates.keySet());
        }
        return s.clone();
    }

    public double lr(String key) {
        Double v = lrSchedule.get(key);
        if (v == null) {
            throw new CheckpointException("no learning-rate schedule value named " + key + " in the checkpoint; it holds "
                    + lrSchedule.keySet());
        }
        return v;
    }

    private static Map<String, Double> copy(Map<String, Double> in, String kind) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (in != null) {
            in.forEach((k, v) -> out.put(Names.check(kind, k), Objects.requireNonNull(v, k)));
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, long[]> copyRng(Map<String, long[]> in) {
        Map<String, long[]> out = new LinkedHashMap<>();
        if (in != null) {
            in.forEach((k, v) -> {
                Names.check("random generator", k);
                if (v == null || v.length == 0) {
                    throw new CheckpointException("random generator state " + k
                            + " is empty; store at least one long (HDF5 files written by jhdf cannot hold empty arrays)");
                }
                out.put(k, v.clone());
            });
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, String> copyModel(Map<String, String> in) {
        Map<String, String> out = new LinkedHashMap<>();
        if (in != null) {
            in.forEach((k, v) -> out.put(Names.check("model attribute", k),
                    checkText("model attribute " + k, Objects.requireNonNull(v, k))));
        }
        return Collections.unmodifiableMap(out);
    }

    private static String checkText(String what, String text) {
        if (text.getBytes(StandardCharsets.UTF_8).length > MAX_ATTRIBUTE_TEXT) {
            throw new CheckpointException(what + " is longer than " + MAX_ATTRIBUTE_TEXT
                    + " bytes; keep it short, and put large text in the config");
        }
        return text;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TrainingState t)) {
            return false;
        }
        if (t.rngStates.size() != rngStates.size()) {
            return false;
        }
        for (Map.Entry<String, long[]> e : rngStates.entrySet()) {
            if (!Arrays.equals(e.getValue(), t.rngStates.get(e.getKey()))) {
                return false;
            }
        }
        return step == t.step && lrSchedule.equals(t.lrSchedule) && Arrays.equals(dataPosition, t.dataPosition)
                && dataPositionText.equals(t.dataPositionText) && config.equals(t.config)
                && schedule.equals(t.schedule) && model.equals(t.model);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(step) * 31 + config.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("TrainingState[step=").append(step).append(", lr=").append(lrSchedule)
                .append(", rng=");
        rngStates.forEach((k, v) -> sb.append(k).append(Arrays.toString(v)).append(' '));
        return sb.append(", data=").append(Arrays.toString(dataPosition)).append(' ').append(dataPositionText)
                .append(", schedule=").append(schedule).append(", model=").append(model)
                .append(", config=").append(config.length()).append(" chars]").toString();
    }
}
