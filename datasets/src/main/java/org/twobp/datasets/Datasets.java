package org.twobp.datasets;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Opens a {@link TokenDataset} from a data spec.
 *
 * <h2>Spec syntax</h2>
 * {@code kind:location?key=value&key=value}. Relative paths are resolved against the working
 * directory; a path may not contain '?'.
 * <table>
 * <caption>Data specs</caption>
 * <tr><th>spec</th><th>data</th><th>options</th></tr>
 * <tr><td>{@code synthetic:addition}</td>
 *     <td>d-digit addition problems {@code 123+456=0579.} packed into rows; only the d+1 answer
 *     digits are scored</td>
 *     <td>{@code digits} (1..18, default 3), {@code reverse} (true: sum written lowest digit
 *     first; default false)</td></tr>
 * <tr><td>{@code synthetic:copy}</td>
 *     <td>{@code 314159|314159.}: n random digits, a separator, the same digits; only the copy
 *     is scored</td>
 *     <td>{@code length} (n, default 8)</td></tr>
 * <tr><td>{@code text:PATH}</td>
 *     <td>byte-level text (any file, ids = bytes, vocabulary 256), random windows</td>
 *     <td>none</td></tr>
 * <tr><td>{@code tokens:PATH}</td>
 *     <td>flat little-endian token ids (numpy {@code ids.astype(np.uint16).tofile(PATH)}, or an
 *     llm.c {@code .bin} with its 1024-byte header, detected by its magic), memory-mapped,
 *     any size, random windows</td>
 *     <td>{@code dtype} (uint16 | uint32 | uint8; required unless the file has an llm.c
 *     header), {@code vocab} (the tokenizer's vocabulary size), {@code header} (auto | llmc |
 *     none, default auto)</td></tr>
 * <tr><td>{@code hdf5:PATH}</td>
 *     <td>token ids in an integer HDF5 dataset (1-D; small n-D ones are flattened), random
 *     windows</td>
 *     <td>{@code dataset} (path inside the file, default {@code tokens}), {@code vocab}
 *     (else the integer attribute {@code vocab_size} of the dataset or the root group)</td></tr>
 * </table>
 *
 * <h2>Vocabulary</h2>
 * The {@code vocabSize} passed in is the model's: every id produced is below it, and it must be
 * at least what the data needs (15 for the synthetic tasks, see {@link SyntheticVocabulary};
 * 256 for text; the declared vocabulary for token data). 0 means "use what the data needs".
 * Token data is checked id by id: a token at or above the vocabulary fails with its position.
 *
 * <h2>Determinism and resume</h2>
 * Row k of the stream (the k-th sequence handed out, counting from 0 across all batches) is a
 * function of the configuration and k only: shard i of n turns local k into global g = k*n + i
 * ({@link Shard}), and the row draws all its randomness (problem operands, window start) from
 * {@code SplitMix64.forSample(seed ^ 0x6461746173657473L, g)}, i.e. a generator seeded with output
 * g of {@code new SplitMix64(seed ^ salt)}. So the {@link DataPosition} is the counter k plus a
 * fingerprint of the configuration; a seek is O(1), and batches of 4+4 give the same rows as one
 * batch of 8. Every rank that opens the same configuration sees the same batches.
 */
public final class Datasets {

    static final String EXAMPLES = "use one of synthetic:addition, synthetic:copy, text:PATH,"
            + " tokens:PATH?dtype=uint16, hdf5:PATH?dataset=tokens";

    /** Sizes that tests shrink to exercise chunked mapping, lazy id checks and sliced HDF5 reads. */
    record Tuning(int mappingChunkBytes, long eagerCheckLimit, long hdf5FullLoadLimit) {
        static final Tuning DEFAULT = new Tuning(MappedTokenFile.CHUNK_BYTES, WindowDataset.EAGER_CHECK_LIMIT,
                Hdf5TokenSource.FULL_LOAD_LIMIT);
    }

    private Datasets() {
    }

    /** Opens {@code spec} unsharded. */
    public static TokenDataset open(String spec, int seqLen, int vocabSize, long seed) {
        return open(new DatasetConfig(spec, seqLen, vocabSize, seed));
    }

    public static TokenDataset open(DatasetConfig config) {
        return open(config, Tuning.DEFAULT);
    }

    static TokenDataset open(DatasetConfig config, Tuning tuning) {
        DatasetSpec spec = DatasetSpec.parse(config.spec());
        return switch (spec.kind().toLowerCase(Locale.ROOT)) {
            case "synthetic" -> openSynthetic(spec, config);
            case "text" -> openText(spec, config, tuning);
            case "tokens" -> openTokens(spec, config, tuning);
            case "hdf5", "h5" -> openHdf5(spec, config, tuning);
            default -> throw new DatasetException("unknown data kind '" + spec.kind() + "' in data spec '" + spec.text()
                    + "'; " + EXAMPLES);
        };
    }

    private static TokenDataset openSynthetic(DatasetSpec spec, DatasetConfig config) {
        SyntheticTask task = switch (spec.location().toLowerCase(Locale.ROOT)) {
            case "addition" -> {
                spec.allowOnly("digits", "reverse");
                yield new AdditionTask(spec.intOption("digits", 3, 1, AdditionTask.MAX_DIGITS),
                        spec.booleanOption("reverse"));
            }
            case "copy" -> {
                spec.allowOnly("length");
                yield new CopyTask(spec.intOption("length", 8, 1, 1 << 20));
            }
            default -> throw new DatasetException("unknown synthetic task '" + spec.location() + "' in data spec '"
                    + spec.text() + "'; use synthetic:addition or synthetic:copy");
        };
        int vocab = vocabulary(config, SyntheticVocabulary.SIZE, spec.text());
        return new SyntheticDataset(task, config.seqLen(), vocab, config.seed(), config.shard());
    }

    private static TokenDataset openText(DatasetSpec spec, DatasetConfig config, Tuning tuning) {
        spec.allowOnly();
        Path path = DataFiles.requireReadableFile(spec.location(), "text");
        int vocab = vocabulary(config, 256, spec.text() + " (byte-level text)");
        MappedTokenFile file = MappedTokenFile.open(path, spec.location(), TokenDtype.UINT8,
                MappedTokenFile.Header.NONE, tuning.mappingChunkBytes());
        return windows("text", file, config, vocab, tuning);
    }

    private static TokenDataset openTokens(DatasetSpec spec, DatasetConfig config, Tuning tuning) {
        spec.allowOnly("dtype", "vocab", "header");
        Path path = DataFiles.requireReadableFile(spec.location(), "tokens");
        TokenDtype dtype = spec.options().containsKey("dtype") ? TokenDtype.parse(spec.option("dtype", "")) : null;
        Integer declared = declaredVocab(spec);
        MappedTokenFile.Header header = switch (spec.option("header", "auto").toLowerCase(Locale.ROOT)) {
            case "auto" -> MappedTokenFile.Header.AUTO;
            case "llmc" -> MappedTokenFile.Header.LLMC;
            case "none" -> MappedTokenFile.Header.NONE;
            default -> throw new DatasetException("option header=" + spec.option("header", "") + " in data spec '"
                    + spec.text() + "' must be auto, llmc or none");
        };
        MappedTokenFile file = MappedTokenFile.open(path, spec.location(), dtype, header, tuning.mappingChunkBytes());
        try {
            if (declared != null && declared > file.dtype().idLimit()) {
                throw new DatasetException("data spec '" + spec.text() + "' declares vocab=" + declared + ", but "
                        + file.dtype().specName() + " ids only reach " + (file.dtype().idLimit() - 1)
                        + "; the file must have been written as uint32: set dtype=uint32");
            }
            int vocab = vocabulary(config, declared, spec.text());
            return windows("tokens", file, config, vocab, tuning);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static TokenDataset openHdf5(DatasetSpec spec, DatasetConfig config, Tuning tuning) {
        spec.allowOnly("dataset", "vocab");
        Path path = DataFiles.requireReadableFile(spec.location(), spec.kind());
        Integer declared = declaredVocab(spec);
        Hdf5TokenSource source = Hdf5TokenSource.open(path, spec.location(), spec.option("dataset", "tokens"),
                tuning.hdf5FullLoadLimit());
        try {
            int vocab = vocabulary(config, declared != null ? declared : source.declaredVocab(), spec.text());
            return windows("hdf5", source, config, vocab, tuning);
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
    }

    private static TokenDataset windows(String kind, TokenSource source, DatasetConfig config, int vocab,
            Tuning tuning) {
        try {
            return new WindowDataset(kind, source, config.seqLen(), vocab, config.seed(), config.shard(),
                    tuning.eagerCheckLimit());
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
    }

    private static Integer declaredVocab(DatasetSpec spec) {
        return spec.options().containsKey("vocab") ? spec.intOption("vocab", 0, 1, Integer.MAX_VALUE) : null;
    }

    /**
     * The vocabulary to use: the model's ({@code config.vocabSize()}) if given, which must cover
     * {@code needed}; otherwise {@code needed}, which must then be known.
     */
    private static int vocabulary(DatasetConfig config, Integer needed, String what) {
        int model = config.vocabSize();
        if (model == 0) {
            if (needed == null) {
                throw new DatasetException(what + " does not say how large its vocabulary is; add vocab=<tokenizer"
                        + " vocabulary size> to the data spec or set the model's vocabulary size");
            }
            return needed;
        }
        if (needed != null && needed > model) {
            throw new DatasetException(what + " needs a vocabulary of at least " + needed + " ids, but the model's"
                    + " vocabulary size is " + model + "; set the model's vocab_size to " + needed + " or more");
        }
        return model;
    }
}
