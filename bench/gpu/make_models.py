"""Writes the models of the GPU run into a directory (pure Python + numpy; no gguf package).

    python3 bench/gpu/make_models.py DIR [--skip-large]

rand.gguf     random weights, d=64, 512 tokens: sampling paths for the differential
odd.gguf      random weights, d=45, 300 tokens: sizes that are no multiple of a kernel tile
tiny.gguf     conformance/models.py's tiny model when it can be built, else a copy of rand
medium.gguf   d=512, 8192 tokens (16 MiB per tensor): large enough for the staged upload
bench1g.gguf  d=4096, 32768 tokens: 1 GiB of weights, for load throughput and tokens/s
absurd.gguf   d=4096, 2^23 tokens (mostly empty): 256 GiB of weights, sparse (VRAM_OOM)
corrupt.gguf  medium.gguf cut in half (MODEL_LOAD_FAILED)
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gguf_writer  # noqa: E402

EOS = "</s>"


def metadata(d: int, tokens: list[str], eos: int) -> dict[str, object]:
    return {
        "general.architecture": "worker-tiny",
        "worker-tiny.embedding_length": d,
        "worker-tiny.context_length": 4096,
        "tokenizer.ggml.model": "worker-bytes",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.eos_token_id": eos,
    }


def vocabulary(n_vocab: int) -> list[str]:
    # 256 byte tokens, EOS, then short unique words (hex keeps the token table small).
    return [f"<0x{b:02X}>" for b in range(256)] + [EOS] + [f" {i:x}" for i in range(257, n_vocab)]


def random_model(path: Path, d: int, n_vocab: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    emb = rng.uniform(-1.0, 1.0, (n_vocab, d)).astype(np.float32)
    out = rng.uniform(-1.0, 1.0, (n_vocab, d)).astype(np.float32) * np.float32(0.5)
    gguf_writer.write(path, metadata(d, vocabulary(n_vocab), 256), [("token_embd.weight", emb), ("output.weight", out)])


def tiled_model(path: Path, d: int, n_vocab: int, seed: int) -> None:
    """Weights that repeat a 4 MiB random block: cheap to write at any size, still finite and
    varied enough for logits (throughput does not depend on the values)."""
    block = np.random.default_rng(seed).uniform(-0.05, 0.05, 1 << 20).astype(np.float32).tobytes()
    tensors = [("token_embd.weight", (d, n_vocab)), ("output.weight", (d, n_vocab))]
    gguf_writer.write_declared(path, metadata(d, vocabulary(n_vocab), 256), tensors, fill_block=block)


def absurd_model(path: Path) -> None:
    # 2^23 tokens of d=4096: 128 GiB per tensor, beyond an H100 and, with both tensors,
    # beyond an H200. The tokens past EOS are empty: the loader caps the vocabulary's text
    # at 16 MiB, and the point here is the weights' size, not the tokenizer's.
    d, n_vocab = 4096, 1 << 23
    tokens = vocabulary(257) + [""] * (n_vocab - 257)
    tensors = [("token_embd.weight", (d, n_vocab)), ("output.weight", (d, n_vocab))]
    gguf_writer.write_declared(path, metadata(d, tokens, 256), tensors, fill_block=None)


def conformance_tiny(path: Path) -> bool:
    try:
        sys.path.insert(0, str(HERE.parent.parent))
        from conformance import models

        emb, out, tokens, eos = models.tiny_weights()
        models.write_model(path, emb, out, tokens, eos)  # imports gguf only here
    except Exception as e:  # numpy or gguf (or its stand-in) missing
        print(f"make_models: conformance tiny model unavailable ({e}); using rand.gguf", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--skip-large", action="store_true", help="no bench1g.gguf and absurd.gguf")
    args = parser.parse_args(argv)
    out: Path = args.dir
    out.mkdir(parents=True, exist_ok=True)
    random_model(out / "rand.gguf", 64, 512, seed=1)
    random_model(out / "odd.gguf", 45, 300, seed=4)  # partial tiles and blocks in the kernels
    if not conformance_tiny(out / "tiny.gguf"):
        shutil.copyfile(out / "rand.gguf", out / "tiny.gguf")
    tiled_model(out / "medium.gguf", 512, 8192, seed=2)
    data = (out / "medium.gguf").read_bytes()
    (out / "corrupt.gguf").write_bytes(data[: len(data) // 2])
    if not args.skip_large:
        tiled_model(out / "bench1g.gguf", 4096, 32768, seed=3)
        absurd_model(out / "absurd.gguf")
    for path in sorted(out.glob("*.gguf")):
        print(f"{path.name}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
