package org.twobp.datasets;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A parsed data spec {@code kind:location?key=value&key=value} (see {@link Datasets} for the
 * kinds). The query starts at the last '?', so a location may not itself contain '?'. A key
 * without '=' means {@code key=true}.
 */
public record DatasetSpec(String text, String kind, String location, Map<String, String> options) {

    public DatasetSpec {
        options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
    }

    public static DatasetSpec parse(String text) {
        if (text == null || text.isBlank()) {
            throw new DatasetException("the data spec is empty; " + Datasets.EXAMPLES);
        }
        String spec = text.trim();
        int colon = spec.indexOf(':');
        if (colon <= 0) {
            throw new DatasetException("data spec '" + spec + "' does not start with a kind; " + Datasets.EXAMPLES);
        }
        String kind = spec.substring(0, colon);
        String rest = spec.substring(colon + 1);
        Map<String, String> options = new LinkedHashMap<>();
        int question = rest.lastIndexOf('?');
        if (question >= 0) {
            String query = rest.substring(question + 1);
            rest = rest.substring(0, question);
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = eq < 0 ? pair : pair.substring(0, eq);
                String value = eq < 0 ? "true" : pair.substring(eq + 1);
                if (key.isEmpty()) {
                    throw new DatasetException("data spec '" + spec + "' has an option without a name ('" + pair
                            + "'); write options as ?key=value&key=value");
                }
                if (options.put(key, value) != null) {
                    throw new DatasetException("data spec '" + spec + "' sets option '" + key + "' twice; keep one");
                }
            }
        }
        return new DatasetSpec(spec, kind, rest, options);
    }

    /** Fails naming the first option that {@code kind} does not accept. */
    void allowOnly(String... allowed) {
        Set<String> ok = Set.of(allowed);
        for (String key : options.keySet()) {
            if (!ok.contains(key)) {
                throw new DatasetException("unknown option '" + key + "' in data spec '" + text + "'; " + kind + ":"
                        + (ok.isEmpty() ? " takes no options" : " accepts " + String.join(", ", new TreeSet<>(ok))));
            }
        }
    }

    String option(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    /** An integer option in [min, max], or {@code fallback} when absent. */
    int intOption(String key, int fallback, int min, int max) {
        String value = options.get(key);
        if (value == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below with the allowed range
        }
        throw new DatasetException("option " + key + "=" + value + " in data spec '" + text + "' must be an integer in "
                + min + ".." + max);
    }

    boolean booleanOption(String key) {
        String value = options.getOrDefault(key, "false").trim();
        if (value.equalsIgnoreCase("true") || value.equals("1")) {
            return true;
        }
        if (value.equalsIgnoreCase("false") || value.equals("0")) {
            return false;
        }
        throw new DatasetException("option " + key + "=" + value + " in data spec '" + text + "' must be true or false");
    }
}
