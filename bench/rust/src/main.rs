//! Overhead of the generated Rust bindings against the raw `extern "C"` layer, in one binary.
//!
//!     cargo run --release --offline -- MODEL_DIR [--rounds 31] [--calls 200000] [--check]
//!
//! MODEL_DIR holds `tiny.gguf` and `large.gguf` (`python -m conformance.models DIR` and
//! `python -m conformance.models DIR --large-bytes 4000000`); `nox -s bench_rust` does all of it.
//!
//! Method: both variants run in this process against the same linked library and the same
//! model, timed by the thread's CPU time (the development machine is shared and
//! oversubscribed; wall time there mostly measures waiting for a core). Rounds interleave the variants (A, B, B, A, ...) so drift hits both alike; every
//! figure is a median over rounds, and each ratio the median of the per-round ratios.
//!
//! * Getter: `model.get_vram_usage()` (a `Result<u64>` with its error check) against
//!   `raw::cuda_model_get_vram_usage(ptr)`; ns per call over `--calls` calls per round, `3 x
//!   --rounds` short rounds alternating which variant runs first (many short rounds make the
//!   median robust to load spikes on a shared machine).
//! * Stream: pieces/s of `for piece in inference.stream()` (an owned, UTF-8-checked `String`
//!   per piece) against a raw loop that calls `cuda_inference_next_token` with a reused buffer
//!   and reads each piece as a UTF-8-checked `&str` without copying it. Only the token loops
//!   are timed (streams are started before and freed after), and each stream of one variant
//!   runs back to back with the same-seed stream of the other.
//!
//! Targets: getter wrapper / raw <= 1.05; stream wrapper / raw >= 0.95.

use std::ffi::CStr;
use std::hint::black_box;

/// CPU time of the calling thread, in seconds: unlike wall time it leaves out the time the
/// thread waits for a core, which dominates the noise on a shared, oversubscribed machine.
fn thread_cpu_seconds() -> f64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3; // Linux
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// A stopwatch over the thread's CPU time.
struct Clock(f64);

impl Clock {
    fn start() -> Clock {
        Clock(thread_cpu_seconds())
    }

    fn seconds(&self) -> f64 {
        thread_cpu_seconds() - self.0
    }
}

use worker_ffi::{raw, Library, Model};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// ns/call of both variants (medians) and the median of the per-round ratios (each round's two
/// measurements are adjacent in time).
fn getter_ns(model: &Model<'_>, rounds: usize, calls: usize) -> (f64, f64, f64) {
    let ptr = model.as_raw();
    let wrapped_round = || {
        let start = Clock::start();
        for _ in 0..calls {
            black_box(black_box(model).get_vram_usage().unwrap());
        }
        start.seconds() * 1e9 / calls as f64
    };
    let bare_round = || {
        let start = Clock::start();
        for _ in 0..calls {
            // SAFETY: `ptr` is the live model borrowed above.
            black_box(unsafe { raw::cuda_model_get_vram_usage(black_box(ptr)) });
        }
        start.seconds() * 1e9 / calls as f64
    };
    let (mut wrapped, mut bare) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which variant goes first, so neither always follows the other.
        if round % 2 == 0 {
            wrapped.push(wrapped_round());
            bare.push(bare_round());
        } else {
            bare.push(bare_round());
            wrapped.push(wrapped_round());
        }
    }
    let ratios = wrapped.iter().zip(&bare).map(|(w, b)| w / b).collect();
    (median(wrapped), median(bare), median(ratios))
}

/// Pieces/s of both loops. Within a round every stream of one variant is paired with the
/// same-seed stream of the other and the two run back to back (alternating which goes first),
/// so load changes on a shared machine hit both alike.
fn stream_pieces_per_s(model: &Model<'_>, rounds: usize, streams: u64, max_tokens: i32) -> (f64, f64, f64) {
    let start_all = || -> Vec<_> { (0..streams).map(|seed| model.start("hello", max_tokens, 1.0, seed).unwrap()).collect() };
    let (mut wrapped, mut bare) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 256];
    for _ in 0..rounds {
        let (mut a, b) = (start_all(), start_all());
        let (mut pieces, mut raw_pieces, mut bytes, mut raw_bytes) = (0usize, 0usize, 0usize, 0usize);
        let (mut t_wrapped, mut t_bare) = (0f64, 0f64);
        for (i, (wrapped_inf, bare_inf)) in a.iter_mut().zip(&b).enumerate() {
            let mut run_wrapped = || {
                let start = Clock::start();
                for piece in wrapped_inf.stream() {
                    bytes += piece.unwrap().len();
                    pieces += 1;
                }
                t_wrapped += start.seconds();
            };
            let mut err = 0;
            let mut run_bare = || {
                let start = Clock::start();
                // SAFETY: the inference is live; the buffer's length is passed as its capacity.
                while unsafe {
                    raw::cuda_inference_next_token(bare_inf.as_raw(), buf.as_mut_ptr().cast(), buf.len() as i32, std::ptr::null_mut(), &mut err)
                } {
                    let text = CStr::from_bytes_until_nul(&buf).unwrap().to_str().unwrap();
                    raw_bytes += text.len();
                    raw_pieces += 1;
                }
                t_bare += start.seconds();
            };
            if i % 2 == 0 {
                run_wrapped();
                run_bare();
            } else {
                run_bare();
                run_wrapped();
            }
            assert_eq!(err, 0);
        }
        assert_eq!((pieces, bytes), (raw_pieces, raw_bytes), "both loops see the same seeded streams");
        wrapped.push(pieces as f64 / t_wrapped);
        bare.push(raw_pieces as f64 / t_bare);
    }
    let ratios = wrapped.iter().zip(&bare).map(|(w, b)| w / b).collect();
    (median(wrapped), median(bare), median(ratios))
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
    let (rounds, calls) = (option("--rounds", 31), option("--calls", 200_000));
    let check = args.iter().any(|a| a == "--check");

    let lib = Library::open().unwrap_or_else(|e| panic!("{e}"));
    let context = lib.init(0).unwrap();
    let tiny = context.load_model(&format!("{dir}/tiny.gguf")).unwrap();
    let large = context.load_model(&format!("{dir}/large.gguf")).unwrap();

    let (wrapped, bare, ratio) = getter_ns(&tiny, 3 * rounds, calls);
    let mut results = vec![("getter wrapper / raw (target <= 1.05)", ratio, ratio <= 1.05)];
    println!("medians of interleaved rounds; ratios are medians of per-round ratios");
    println!("getter: wrapper {wrapped:.2} ns/call, raw extern \"C\" {bare:.2} ns/call");
    for (label, model, streams, max_tokens, rounds) in [("tiny", &tiny, 200, 64, rounds), ("4 MB", &large, 2, 256, ((rounds + 2) / 3).max(3))] {
        let (wrapped, bare, ratio) = stream_pieces_per_s(model, rounds, streams, max_tokens);
        println!("stream {label:4}: iterator {wrapped:12.0} pieces/s, raw loop {bare:12.0} pieces/s");
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
