"""Deterministic worker-tiny test models (GGUF v3), valid and deliberately broken.

    python -m conformance.models OUT_DIR                  # tiny.gguf and every invalid variant
    python -m conformance.models OUT_DIR --large-bytes N  # large.gguf of about N weight bytes

The architecture is the spec's `model_format` section: token embedding E and output
projection W, both F32 with ne = [d, n_vocab]; logits[v] = sum_i W[v][i] * E[t][i].

tiny.gguf is built from hand-written transition chains. Every token on a chain gets its own
one-hot embedding dimension, and W gives its successor a logit of CHAIN_LOGIT there, so greedy
decoding walks the chain exactly (see GREEDY_CASES for each prompt's expected text) and
sampling at temperature 1 mostly follows it. The chains exercise multi-byte pieces, characters
split across byte tokens, ill-formed byte sequences (U+FFFD by maximal subpart), a dangling
incomplete character at the end of the stream, a piece longer than 255 bytes, a tie between
two successors (greedy takes the lower id), and EOS.

`reference_generate` re-implements the model math in numpy float32 with the library's exact
operation order, as an oracle for seeded streams.
"""

from __future__ import annotations

import argparse
import struct
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np

ARCH = "worker-tiny"
TOKENIZER = "worker-bytes"
CONTEXT_LENGTH = 4096
ALIGNMENT = 32
CHAIN_LOGIT = 8.0
SEED = 20261126

EOS = "</s>"
LONG_PIECE = "ü" * 150  # 300 bytes: streamed as two pieces (254 + 46 bytes)

# Text tokens after the 256 byte tokens; ids follow this order (EOS is id 256).
TEXT_TOKENS = [
    EOS, "Hello", " world", ",", " 日本", "語", "!", " café", "Hi", " there", "?",
    "See", " the", " cat", " dog", " sat", " ran", "Long", LONG_PIECE,
]


def byte_token(b: int) -> str:
    return f"<0x{b:02X}>"


_b = byte_token  # keeps the chains below readable


# Each chain is a walk of token texts ending in EOS; a token appears in at most one position
# of all chains unless it is a declared fork (" the" has two successors of equal weight).
CHAINS: list[list[str]] = [
    # Multi-byte pieces, "€" split over three byte tokens and "😀" over four.
    ["Hello", " world", ",", " 日本", "語", _b(0xE2), _b(0x82), _b(0xAC), "!",
     _b(0xF0), _b(0x9F), _b(0x98), _b(0x80), " café", EOS],
    # Ill-formed bytes: E3 81 then "?" (one U+FFFD for the maximal subpart E3 81), a lone FF,
    # and C3 dangling at the end of the stream.
    ["Hi", " there", _b(0xE3), _b(0x81), "?", _b(0xFF), _b(0xC3), EOS],
    # A tie: " cat" and " dog" follow " the" equally; greedy picks " cat" (lower id).
    ["See", " the", " cat", " sat", EOS],
    [" the", " dog", " ran", EOS],
    # A piece longer than 255 bytes.
    ["Long", LONG_PIECE, EOS],
]

# prompt -> text that greedy decoding (temperature 0) produces with max_tokens >= 64.
GREEDY_CASES: dict[str, str] = {
    "Hello": " world, 日本語€!😀 café",
    "Hi": " there\ufffd?\ufffd\ufffd",
    "See the": " cat sat",
    "Long": LONG_PIECE,
}

INVALID_VARIANTS = (
    "bad_magic", "bad_version", "truncated_header", "truncated_data", "tensor_outside_file",
    "wrong_shape", "missing_tensor", "absurd_counts", "unknown_arch", "missing_byte_token",
)


def vocabulary() -> list[str]:
    return [byte_token(b) for b in range(256)] + TEXT_TOKENS


def tiny_weights() -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """(E, W, tokens, eos_id) of tiny.gguf; E and W have numpy shape (n_vocab, d)."""
    tokens = vocabulary()
    ids = {text: i for i, text in enumerate(tokens)}
    states: list[str] = []
    for chain in CHAINS:
        for text in chain[:-1]:
            if text not in states:
                states.append(text)
    d = 32
    assert len(states) <= d, "more chain states than embedding dimensions"
    rng = np.random.default_rng(SEED)
    n_vocab = len(tokens)
    emb = (rng.standard_normal((n_vocab, d)) * 0.25).astype(np.float32)
    out = (rng.standard_normal((n_vocab, d)) * 0.05).astype(np.float32)
    for k, text in enumerate(states):
        emb[ids[text]] = 0.0
        emb[ids[text], k] = 1.0
        out[:, k] = 0.0  # only the designed successors score on a chain state's dimension
    for chain in CHAINS:
        for here, succ in pairwise(chain):
            out[ids[succ], states.index(here)] = CHAIN_LOGIT
    return emb, out, tokens, ids[EOS]


def write_model(path: Path, emb: np.ndarray, out: np.ndarray, tokens: list[str], eos: int, *,
                arch: str = ARCH, tensors: tuple[str, ...] = ("token_embd.weight", "output.weight"),
                out_shape: tuple[int, int] | None = None,
                context_length: int = CONTEXT_LENGTH) -> None:
    import gguf  # imported here so that the oracle below works without the package

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_uint32(f"{ARCH}.embedding_length", int(emb.shape[1]))
    writer.add_uint32(f"{ARCH}.context_length", context_length)
    writer.add_string("tokenizer.ggml.model", TOKENIZER)
    writer.add_token_list(tokens)
    writer.add_uint32("tokenizer.ggml.eos_token_id", eos)
    if "token_embd.weight" in tensors:
        writer.add_tensor("token_embd.weight", np.ascontiguousarray(emb, dtype=np.float32))
    if "output.weight" in tensors:
        w = out if out_shape is None else np.zeros(out_shape, dtype=np.float32)
        writer.add_tensor("output.weight", np.ascontiguousarray(w, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _tensor_offset_position(path: Path, name: str) -> int:
    """File position of the u64 data offset in `name`'s tensor info."""
    import gguf

    reader = gguf.GGUFReader(path)
    for tensor in reader.tensors:
        if tensor.name == name:
            field = tensor.field
            return field.offset + sum(part.nbytes for part in field.parts[:-1])
    raise KeyError(name)


def write_all(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    emb, out, tokens, eos = tiny_weights()
    tiny = out_dir / "tiny.gguf"
    write_model(tiny, emb, out, tokens, eos)
    valid = tiny.read_bytes()
    written = [tiny]

    # Weights so large that the logits overflow float32: inference fails, loading does not.
    big = np.full_like(emb, 1e30)
    write_model(out_dir / "overflow.gguf", big, big, tokens, eos)
    written.append(out_dir / "overflow.gguf")

    def variant(name: str, content: bytes) -> None:
        path = out_dir / f"{name}.gguf"
        path.write_bytes(content)
        written.append(path)

    variant("bad_magic", b"GGUX" + valid[4:])
    variant("bad_version", valid[:4] + struct.pack("<I", 2) + valid[8:])
    variant("truncated_header", valid[:64])
    variant("truncated_data", valid[:-100])
    position = _tensor_offset_position(tiny, "output.weight")
    far = bytearray(valid)
    far[position:position + 8] = struct.pack("<Q", 1 << 40)
    variant("tensor_outside_file", bytes(far))
    variant("absurd_counts", valid[:8] + struct.pack("<Q", 1 << 60) + valid[16:])
    for name, kwargs in {
        "wrong_shape": {"out_shape": (len(tokens) - 1, emb.shape[1])},
        "missing_tensor": {"tensors": ("token_embd.weight",)},
        "unknown_arch": {"arch": "llama"},
    }.items():
        path = out_dir / f"{name}.gguf"
        write_model(path, emb, out, tokens, eos, **kwargs)
        written.append(path)
    # A vocabulary without <0x41>: "A" could not be tokenised.
    holed = [t if t != byte_token(0x41) else "A-less" for t in tokens]
    write_model(out_dir / "missing_byte_token.gguf", emb, out, holed, eos)
    written.append(out_dir / "missing_byte_token.gguf")
    return written


def write_large(path: Path, weight_bytes: int, d: int = 1024) -> Path:
    """A valid worker-tiny model whose two weight tensors hold about `weight_bytes` bytes."""
    n_vocab = max(512, weight_bytes // (2 * d * 4))
    tokens = [byte_token(b) for b in range(256)] + [EOS] + [f" w{i}" for i in range(n_vocab - 257)]
    rng = np.random.default_rng(SEED)
    emb = rng.standard_normal((n_vocab, d), dtype=np.float32)
    out = rng.standard_normal((n_vocab, d), dtype=np.float32) * np.float32(0.05)
    write_model(path, emb, out, tokens, 256)
    return path


# ------------------------------------------------------------------------ reference oracle

_MASK64 = (1 << 64) - 1
_F = np.float32


def random_unit(seed: int, step: int) -> np.float32:
    """The library's counter-based draw: the (step+1)-th SplitMix64 output of `seed`."""
    z = (seed + 0x9E3779B97F4A7C15 * (step + 1)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return _F(z >> 40) * _F(1.0 / 16777216.0)


def det_expf(x: np.ndarray) -> np.ndarray:
    """Vectorised float32 copy of math::det_expf (same operations, same order)."""
    x = np.asarray(x, dtype=_F)
    with np.errstate(all="ignore"):
        t = x * _F(1.44269504088896341) + _F(0.5)
        k = np.trunc(t).astype(np.int64)
        k = np.where(k.astype(_F) > t, k - 1, k)
        fk = k.astype(_F)
        r = x - fk * _F(0.693359375)
        r = r - fk * _F(-2.12194440e-4)
        z = r * r
        p = np.full_like(x, _F(1.9875691500e-4))
        for c in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1):
            p = p * r + _F(c)
        p = p * z + r
        p = p + _F(1.0)
        k = np.clip(k, -200, 200)  # out-of-range lanes are overwritten below
        k1 = np.trunc(k / 2).astype(np.int64)  # C++ integer division truncates
        k2 = k - k1
        s1 = ((np.clip(k1 + 127, 1, 254)).astype(np.uint32) << np.uint32(23)).view(_F)
        s2 = ((np.clip(k2 + 127, 1, 254)).astype(np.uint32) << np.uint32(23)).view(_F)
        y = p * s1 * s2
    y = np.where(x > _F(88.72283), _F(np.inf), y)
    y = np.where(x < _F(-87.33654), _F(0.0), y)
    return np.where(np.isnan(x), x, y).astype(_F)


def tokenize(tokens: list[str], text: bytes) -> list[int]:
    """Greedy longest match over bytes, lowest id on equal bytes."""
    pieces: dict[bytes, int] = {}
    for i, t in enumerate(tokens):
        b = bytes([int(t[3:5], 16)]) if len(t) == 6 and t.startswith("<0x") and t.endswith(">") and \
            all(c in "0123456789ABCDEF" for c in t[3:5]) else t.encode()
        if b:
            pieces.setdefault(b, i)
    longest = max(len(b) for b in pieces)
    ids, pos = [], 0
    while pos < len(text):
        for n in range(min(longest, len(text) - pos), 0, -1):
            if text[pos:pos + n] in pieces:
                ids.append(pieces[text[pos:pos + n]])
                pos += n
                break
    return ids


def piece_bytes(token: str) -> bytes:
    if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
        try:
            return bytes([int(token[3:5], 16)])
        except ValueError:
            pass
    return token.encode()


def reference_generate(emb: np.ndarray, out: np.ndarray, tokens: list[str], eos: int, prompt: str,
                       max_tokens: int, temperature: float, seed: int) -> tuple[list[int], str]:
    """Token ids and decoded text the library must produce (context length not modelled)."""
    last = tokenize(tokens, prompt.encode())[-1]
    generated: list[int] = []
    temperature = _F(temperature)
    for step in range(max_tokens):
        # Sequential float32 sum per row (cumsum is sequential), never pairwise.
        logits = np.cumsum(out * emb[last], axis=1, dtype=_F)[:, -1]
        if temperature == 0:
            token = int(np.argmax(logits))  # first maximum: lowest index on ties
        else:
            w = det_expf((logits - logits.max()) / temperature)
            running = np.cumsum(w, dtype=_F)
            target = random_unit(seed, step) * running[-1]
            above = np.nonzero(target < running)[0]
            token = int(above[0]) if len(above) else int(np.nonzero(w > 0)[0][-1])
        if token == eos:
            break
        generated.append(token)
        last = token
    text = b"".join(piece_bytes(tokens[t]) for t in generated).decode("utf-8", errors="replace")
    return generated, text.replace("\x00", "\ufffd")  # pieces are C strings: NUL is replaced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.models", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--large-bytes", type=int, default=None,
                        help="write only large.gguf with about this many weight bytes")
    args = parser.parse_args(argv)
    if args.large_bytes is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        paths = [write_large(args.out_dir / "large.gguf", args.large_bytes)]
    else:
        paths = write_all(args.out_dir)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
