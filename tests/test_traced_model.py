"""The torch encoder runs the model traced into TorchScript (embeddings.traced_model): the eager vectors bit
for bit, without sentence-transformers in the process; a damaged trace is rebuilt, a refused one not used."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from embeddings.encoder import Encoder, encode_bucketed, load_eager
from embeddings.traced_model import MANIFEST_NAME, MODEL_FILE, TracedModel, load_traced, traced_dir
from tests.conftest import ROOT

TEXTS = ["query: 陶瓷窑炉余热回收与燃烧优化", "query: 臺灣半導體封裝測試良率提升，AOI誤判太多",
         "query: low-power LoRa sensor network (NB-IoT) for orchard irrigation", "query: 镝铽晶界扩散",
         "passage: " + "稀土永磁材料晶界扩散，提高矫顽力并降低重稀土用量。" * 30, "query: x"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """The torch backend's Encoder (the default is onnx-fp32), its model loaded (so traced on this machine)."""
    torch_encoder = Encoder(backend="torch", cache_folder=tmp_path_factory.mktemp("torch-vectors"))
    torch_encoder.model  # noqa: B018
    return torch_encoder


def test_the_traced_encoder_gives_the_eager_vectors_bit_for_bit(encoder):
    assert isinstance(encoder.model, TracedModel)
    eager = load_eager(encoder.location, True, encoder.max_seq_length)
    for batch in (32, 1):
        assert np.array_equal(encode_bucketed(encoder.model, TEXTS, batch), encode_bucketed(eager, TEXTS, batch))
    limit = encoder.max_seq_length
    assert (encoder.model.tokenizer(TEXTS, truncation=True, max_length=limit)["input_ids"]
            == eager.tokenizer(TEXTS, truncation=True, max_length=limit)["input_ids"])


def test_a_process_that_encodes_does_not_import_sentence_transformers(encoder, tmp_path):
    script = ("import sys, json\nfrom embeddings.encoder import Encoder\n"
              "v = Encoder(cache=False).encode(['陶瓷窑炉余热回收'])\n"
              "print(json.dumps({'st': 'sentence_transformers' in sys.modules, 'torch': 'torch' in sys.modules,"
              " 'v': v[0].tolist()}))")
    got = {}
    for backend in ("torch", "onnx-fp32"):
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                             env={**os.environ, "CXY_VECTOR_CACHE": str(tmp_path), "CXY_ENCODER_BACKEND": backend})
        got[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["torch"]["st"] is False and got["onnx-fp32"]["st"] is False
    assert got["onnx-fp32"]["torch"] is False  # the default backend needs onnxruntime only
    assert np.array_equal(np.array(got["torch"]["v"], dtype=np.float32), encoder.encode(["陶瓷窑炉余热回收"])[0])
    onnx = np.array(got["onnx-fp32"]["v"], dtype=np.float32)
    assert float(onnx @ encoder.encode(["陶瓷窑炉余热回收"])[0]) >= 0.99999


def _model_copy(encoder, folder):
    """The default model's folder again (its weights linked, not copied), so a test may alter it."""
    shutil.copytree(encoder.location, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    (folder / "model.safetensors").symlink_to(os.path.join(encoder.location, "model.safetensors"))
    return folder


def test_a_damaged_trace_is_rebuilt_and_a_refused_one_is_not_used(encoder, tmp_path):
    model_dir = _model_copy(encoder, tmp_path / "model")
    folder = traced_dir(model_dir)
    shutil.copytree(traced_dir(encoder.location), folder)  # the session's trace: verified and used, not redone
    stamp = (folder / MODEL_FILE).stat().st_mtime_ns
    first = load_traced(model_dir, 256)
    assert (folder / MODEL_FILE).stat().st_mtime_ns == stamp
    manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert first is not None and manifest["usable"] and manifest["check"]["bit_equal_to_eager"]
    assert manifest["mapped"]["tensor"] == "embeddings.word_embeddings.weight"  # read from the weights, not the trace
    expected = encode_bucketed(first, TEXTS, 32)

    with (folder / MODEL_FILE).open("r+b") as damaged:  # cut short, as by a full disk
        damaged.truncate(1000)
    again = load_traced(model_dir, 256)  # traced again
    assert (folder / MODEL_FILE).stat().st_size > 1000
    assert again is not None and np.array_equal(encode_bucketed(again, TEXTS, 32), expected)

    manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["usable"] = False  # what a build whose check found a difference writes
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    stamp = (folder / MODEL_FILE).stat().st_mtime_ns
    assert load_traced(model_dir, 256) is None  # the caller loads the eager model
    assert (folder / MODEL_FILE).stat().st_mtime_ns == stamp  # and nothing is traced again


def test_a_model_the_trace_does_not_cover_is_recorded_once_and_served_eagerly(encoder, tmp_path):
    model_dir = _model_copy(encoder, tmp_path / "model")
    config_path = model_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["model_input_names"] = ["input_ids", "token_type_ids", "attention_mask"]  # as BERT-style Chinese models
    config_path.write_text(json.dumps(config), encoding="utf-8")
    assert load_traced(model_dir, 256) is None
    folder = traced_dir(model_dir)
    manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert not manifest["usable"] and "token_type_ids" in manifest["check"]["reason"]
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST_NAME]
    stamp = (folder / MANIFEST_NAME).stat().st_mtime_ns
    assert load_traced(model_dir, 256) is None and (folder / MANIFEST_NAME).stat().st_mtime_ns == stamp
