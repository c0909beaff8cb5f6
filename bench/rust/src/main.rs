//! Overhead of the generated Rust bindings against the raw `extern "C"` layer, in one binary.
//!
//!     cargo run --release --offline -- MODEL_DIR [--rounds 31] [--calls 2000000] [--check]
//!
//! MODEL_DIR holds `tiny.gguf` and `large.gguf` (`python -m conformance.models DIR` and
//! `python -m conformance.models DIR --large-bytes 4000000`); `nox -s bench_rust` does all of it.
//!
//! Method: both variants run in this process against the same linked library and the same
//! model. Rounds interleave the variants (A, B, A, B, ...) so drift hits both alike; every
//! figure is the median over rounds.
//!
//! * Getter: `model.get_vram_usage()` (a `Result<u64>` with its error check) against
//!   `raw::cuda_model_get_vram_usage(ptr)`; ns per call over `--calls` calls per round.
//! * Stream: pieces/s of `for piece in inference.stream()` (an owned, UTF-8-checked `String`
//!   per piece) against a raw loop that calls `cuda_inference_next_token` with a reused buffer
//!   and reads each piece as a UTF-8-checked `&str` without copying it. Only the token loop is
//!   timed: streams are started before the clock starts and freed after it stops.
//!
//! Targets: getter wrapper / raw <= 1.05; stream wrapper / raw >= 0.95.

use std::ffi::CStr;
use std::hint::black_box;
use std::time::Instant;

use worker_ffi::{raw, Library, Model};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn getter_ns(model: &Model<'_>, rounds: usize, calls: usize) -> (f64, f64) {
    let ptr = model.as_raw();
    let (mut wrapped, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..calls {
            black_box(black_box(model).get_vram_usage().unwrap());
        }
        wrapped.push(start.elapsed().as_nanos() as f64 / calls as f64);
        let start = Instant::now();
        for _ in 0..calls {
            // SAFETY: `ptr` is the live model borrowed above.
            black_box(unsafe { raw::cuda_model_get_vram_usage(black_box(ptr)) });
        }
        bare.push(start.elapsed().as_nanos() as f64 / calls as f64);
    }
    (median(wrapped), median(bare))
}

fn stream_pieces_per_s(model: &Model<'_>, rounds: usize, streams: u64, max_tokens: i32) -> (f64, f64) {
    let start_all = || -> Vec<_> { (0..streams).map(|seed| model.start("hello", max_tokens, 1.0, seed).unwrap()).collect() };
    let (mut wrapped, mut bare) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 256];
    for _ in 0..rounds {
        let mut inferences = start_all();
        let (mut pieces, mut bytes) = (0usize, 0usize);
        let start = Instant::now();
        for inference in &mut inferences {
            for piece in inference.stream() {
                let piece = piece.unwrap();
                bytes += piece.len();
                pieces += 1;
            }
        }
        wrapped.push(pieces as f64 / start.elapsed().as_secs_f64());
        drop(inferences);
        black_box(bytes);

        let inferences = start_all();
        let (mut raw_pieces, mut raw_bytes) = (0usize, 0usize);
        let mut err = 0;
        let start = Instant::now();
        for inference in &inferences {
            // SAFETY: the inference is live; the buffer's length is passed as its capacity.
            while unsafe {
                raw::cuda_inference_next_token(inference.as_raw(), buf.as_mut_ptr().cast(), buf.len() as i32, std::ptr::null_mut(), &mut err)
            } {
                let text = CStr::from_bytes_until_nul(&buf).unwrap().to_str().unwrap();
                raw_bytes += text.len();
                raw_pieces += 1;
            }
            assert_eq!(err, 0);
        }
        bare.push(raw_pieces as f64 / start.elapsed().as_secs_f64());
        drop(inferences);
        black_box(raw_bytes);
        assert_eq!(pieces, raw_pieces, "both loops see the same seeded streams");
    }
    (median(wrapped), median(bare))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().filter(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| {
        eprintln!("usage: bench_rust_bindings MODEL_DIR [--rounds N] [--calls N] [--check]");
        std::process::exit(2);
    });
    let option = |name: &str, default: usize| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(|v| v.parse().expect("a number")).unwrap_or(default)
    };
    let (rounds, calls) = (option("--rounds", 31), option("--calls", 2_000_000));
    let check = args.iter().any(|a| a == "--check");

    let lib = Library::open().unwrap_or_else(|e| panic!("{e}"));
    let context = lib.init(0).unwrap();
    let tiny = context.load_model(&format!("{dir}/tiny.gguf")).unwrap();
    let large = context.load_model(&format!("{dir}/large.gguf")).unwrap();

    let (wrapped, bare) = getter_ns(&tiny, rounds, calls);
    let mut results = vec![("getter wrapper / raw (target <= 1.05)", wrapped / bare, wrapped / bare <= 1.05)];
    println!("medians of {rounds} interleaved rounds");
    println!("getter: wrapper {wrapped:.2} ns/call, raw extern \"C\" {bare:.2} ns/call");
    for (label, model, streams, max_tokens, rounds) in [("tiny", &tiny, 200, 64, rounds), ("4 MB", &large, 2, 256, ((rounds + 2) / 3).max(3))] {
        let (wrapped, bare) = stream_pieces_per_s(model, rounds, streams, max_tokens);
        println!("stream {label:4}: iterator {wrapped:12.0} pieces/s, raw loop {bare:12.0} pieces/s");
        let ratio = wrapped / bare;
        results.push((if label == "tiny" { "stream iterator / raw loop, tiny model (target >= 0.95)" } else { "stream iterator / raw loop, 4 MB model (target >= 0.95)" }, ratio, ratio >= 0.95));
    }
    let mut ok = true;
    for (label, value, passed) in results {
        ok &= passed;
        println!("{label:58} {value:6.3}  {}", if passed { "ok" } else { "MISSED" });
    }
    if check && !ok {
        std::process::exit(1);
    }
}
