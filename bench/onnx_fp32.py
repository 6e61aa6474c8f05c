"""A lever for issue 16 item 1, measured before it is built: the transformer as an fp32 ONNX graph with
onnxruntime's BERT fusion (the int8 export's first two steps, embeddings/onnx_int8.py, without quantising),
against the default torch path (the TorchScript trace), on the same 32-token buckets and batches.

Prints one table: docs/s of each (alternating rounds, so a shared machine slows both alike), the worst cosine
and largest element difference to the torch vectors, and whether a text's fp32-ONNX vector is the same bits
alone as in its batch and from one run to the next (what the vector cache and resumable builds need).

Run: .venv/bin/python bench/onnx_fp32.py [--docs 96] [--rounds 3]
The exported graph is kept under ~/.cache/cxy/bench/onnx-fp32/ and reused.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from retrieval import PAPERS, load_papers  # noqa: E402

from embeddings import onnx_int8  # noqa: E402
from embeddings.encoder import BUCKET_TOKENS, Encoder, encode_bucketed  # noqa: E402

WORK = Path.home() / ".cache" / "cxy" / "bench" / "onnx-fp32"


class FusedFp32:
    """The fused fp32 graph run on exactly encode_bucketed's batches (each text padded to its 32-token bucket)."""

    def __init__(self, model_dir: Path, threads: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        WORK.mkdir(parents=True, exist_ok=True)
        fused = WORK / "fused.onnx"
        if not fused.exists():
            config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
            onnx_int8._export_fp32(model_dir, WORK / "model.onnx")
            onnx_int8._fuse(WORK / "model.onnx", fused, config)
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(fused), options, providers=["CPUExecutionProvider"],
                                            disabled_optimizers=onnx_int8.DISABLED_OPTIMIZERS)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.pad = int(json.loads((model_dir / "config.json").read_text(encoding="utf-8")).get("pad_token_id") or 0)

    def encode(self, texts: list[str], limit: int, batch_size: int = 32) -> np.ndarray:
        self.tokenizer.enable_truncation(max_length=limit)
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        width = [min(limit, -(-len(row) // BUCKET_TOKENS) * BUCKET_TOKENS) for row in ids]
        groups: dict[int, list[int]] = {}
        for i in sorted(range(len(ids)), key=lambda i: (-width[i], i)):
            groups.setdefault(width[i], []).append(i)
        out = np.zeros((len(ids), 384), dtype=np.float32)
        for w, members in groups.items():
            for start in range(0, len(members), batch_size):
                rows = members[start:start + batch_size]
                input_ids = np.full((len(rows), w), self.pad, dtype=np.int64)
                mask = np.zeros((len(rows), w), dtype=np.int64)
                for r, i in enumerate(rows):
                    input_ids[r, : len(ids[i])], mask[r, : len(ids[i])] = ids[i], 1
                hidden = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
                weights = mask[:, :, None].astype(np.float32)
                out[rows] = (hidden * weights).sum(1) / weights.sum(1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    encoder = Encoder(cache=False)
    limit = int(encoder.max_seq_length)
    onnx = FusedFp32(Path(encoder.location), encoder.threads)
    texts = ["query: " + p["abstract"] for p in load_papers(PAPERS)[: args.docs]]
    reference, mine = encode_bucketed(encoder.model, texts, 32), onnx.encode(texts, limit)
    alone = np.vstack([onnx.encode([t], limit) for t in texts[:24]])
    speeds: dict[str, list[float]] = {"torch (TorchScript trace, default)": [], "fp32 ONNX, fused": []}
    for _ in range(args.rounds):
        for name, run in zip(speeds, (lambda: encode_bucketed(encoder.model, texts, 32),
                                      lambda: onnx.encode(texts, limit)), strict=True):
            started = time.perf_counter()
            run()
            speeds[name].append(len(texts) / (time.perf_counter() - started))
    print(f"{len(texts)} CSL abstracts at {limit} tokens, 32-token buckets, {encoder.threads} threads "
          "(docs/s per round)")
    print("| path | docs/s | min cosine to torch | max element difference | alone = in batch | run = rerun |")
    print("|---|---|---|---|---|---|")
    torch_rounds, onnx_rounds = (" / ".join(f"{s:.1f}" for s in values) for values in speeds.values())
    print(f"| torch (TorchScript trace, default) | {torch_rounds} | 1 | 0 | yes | yes |")
    print(f"| fp32 ONNX, fused | {onnx_rounds} | {float((reference * mine).sum(1).min()):.7f} | "
          f"{float(np.abs(reference - mine).max()):.1e} | {np.array_equal(alone, mine[:24])} | "
          f"{np.array_equal(mine, onnx.encode(texts, limit))} |")


if __name__ == "__main__":
    main()
