// What a hostile or changing environment must never do to the process: a model file truncated
// while it loads, a FIFO, socket or device given as the model, bytes in the file that are not
// UTF-8, a prompt built to make tokenisation slow, and handles destroyed while other threads
// still call into them. Each case fails (or crashes) on the code before these were fixed.
//
//   test_hardening SCRATCH_DIR [name-filter]
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "gguf_write.hpp"
#include "worker_ffi.h"

namespace {

std::string g_dir;
std::string detail() { return cuda_last_error_detail(); }
bool detail_has(const std::string& needle) { return detail().find(needle) != std::string::npos; }
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool is_utf8(const std::string& s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    const unsigned char c = p[i];
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xC2) || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Runs `body` on a thread and fails the whole program if it has not returned within `seconds`
// (a load that blocks forever must not hang the test run).
template <class F>
void within(double seconds, const char* what, F body) {
  std::packaged_task<void()> task(body);
  auto done = task.get_future();
  std::thread runner(std::move(task));
  if (done.wait_for(std::chrono::duration<double>(seconds)) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: %s did not return within %.0f s (blocked)\n", what, seconds);
    std::fflush(stderr);
    std::_Exit(1);
  }
  runner.join();
}

struct Context {
  CudaContext* ctx = nullptr;
  Context() {
    int err = -1;
    ctx = cuda_init(0, &err);
    CHECK_EQ(err, CUDA_SUCCESS);
  }
  ~Context() { cuda_destroy(ctx); }
};

// --------------------------------------------------------------------------- the model file

TEST_CASE("truncation_race_never_kills_the_process") {
  // A model of ~8 MiB; a second thread keeps cutting the file short and writing it back while
  // loads run. Every load must either succeed or fail with MODEL_LOAD_FAILED and a detail; the
  // file is never mapped, so a cut cannot fault (the old loader died of SIGBUS here).
  testing_gguf::Spec spec;
  spec.d = 64;
  for (int k = 0; k < 16000; ++k) spec.extra_tokens.push_back("t" + std::to_string(k));
  const auto bytes = testing_gguf::build(spec);
  const std::string path = g_dir + "/race.gguf";
  CHECK(testing_gguf::write(path, bytes));
  Context c;
  const uint64_t tracked = cuda_testing_tracked_bytes();
  const uint64_t handles = cuda_testing_live_handles();
  std::atomic<bool> stop{false};
  std::thread cutter([&] {
    const int fd = ::open(path.c_str(), O_WRONLY);
    std::mt19937_64 rng(99);
    while (!stop.load()) {
      if (::ftruncate(fd, static_cast<off_t>(rng() % bytes.size())) != 0) break;
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400));
      if (::pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) break;
      // Now and then the file stays whole for a while, so some loads also succeed.
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 4 == 0 ? 100000 : rng() % 400));
    }
    ::close(fd);
  });
  int loaded = 0, refused = 0, other = 0, bad_detail = 0;
  const auto t0 = Clock::now();
  for (int n = 0; n < 200 && since(t0) < 10.0; ++n) {
    int err = -1;
    uint64_t vram = 0;
    CudaModel* model = cuda_load_model(c.ctx, path.c_str(), &vram, &err);
    if (model != nullptr) {
      ++loaded;
      cuda_unload_model(model);
    } else if (err == CUDA_ERROR_MODEL_LOAD_FAILED) {
      ++refused;
      if (detail().empty() || !is_utf8(detail())) ++bad_detail;
    } else {
      ++other;
      std::fprintf(stderr, "unexpected code %d: %s\n", err, detail().c_str());
    }
  }
  stop.store(true);
  cutter.join();
  std::printf("truncation race: %d loads, %d refused with MODEL_LOAD_FAILED, %d loaded, %.1f s\n",
              loaded + refused + other, refused, loaded, since(t0));
  CHECK_EQ(other, 0);
  CHECK_EQ(bad_detail, 0);
  CHECK(refused > 0);  // the race was really run
  CHECK_EQ(cuda_testing_tracked_bytes(), tracked);
  CHECK_EQ(cuda_testing_live_handles(), handles);
  // A file cut for good names where it ended.
  CHECK(::truncate(path.c_str(), static_cast<off_t>(bytes.size() - 100)) == 0);
  int err = -1;
  uint64_t vram = 0;
  CHECK(cuda_load_model(c.ctx, path.c_str(), &vram, &err) == nullptr);
  CHECK_EQ(err, CUDA_ERROR_MODEL_LOAD_FAILED);
  CHECK(detail_has("truncated"));
}

TEST_CASE("fifo_socket_and_device_are_refused_without_blocking") {
  Context c;
  const std::string fifo = g_dir + "/model.fifo";
  ::unlink(fifo.c_str());
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string sock = g_dir + "/model.sock";
  ::unlink(sock.c_str());
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  CHECK(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::pair<std::string, const char*> cases[] = {
      {fifo, "FIFO"}, {sock, "socket"}, {"/dev/null", "character device"}, {g_dir, "directory"}};
  for (const auto& [path, needle] : cases) {
    int err = -1;
    std::string why;
    within(10.0, path.c_str(), [&] {
      uint64_t vram = 0;
      CudaModel* model = cuda_load_model(c.ctx, path.c_str(), &vram, &err);
      CHECK(model == nullptr);
      why = detail();
    });
    CHECK_EQ(err, CUDA_ERROR_MODEL_LOAD_FAILED);
    if (why.find(needle) == std::string::npos || why.find("not a regular file") == std::string::npos) {
      check::fail(__FILE__, __LINE__, path + ": detail '" + why + "' lacks '" + needle + "'");
    }
  }
  ::close(s);
  ::unlink(sock.c_str());
  ::unlink(fifo.c_str());
}

TEST_CASE("details_from_file_bytes_are_escaped_utf8") {
  Context c;
  const std::pair<std::string, std::string> cases[] = {
      {"w\xE9rker-tiny", "unknown architecture 'w\\xe9rker-tiny'"},
      {"bad\x01\xFF", "unknown architecture 'bad\\x01\\xff'"},
      {"caf\xC3\xA9", "unknown architecture 'caf\xC3\xA9'"},  // well-formed text is kept
  };
  for (const auto& [arch, needle] : cases) {
    testing_gguf::Spec spec;
    spec.architecture = arch;
    const std::string path = g_dir + "/arch.gguf";
    CHECK(testing_gguf::write(path, spec));
    int err = -1;
    uint64_t vram = 0;
    CHECK(cuda_load_model(c.ctx, path.c_str(), &vram, &err) == nullptr);
    CHECK_EQ(err, CUDA_ERROR_MODEL_LOAD_FAILED);
    CHECK(is_utf8(detail()));
    if (!detail_has(needle)) check::fail(__FILE__, __LINE__, "detail '" + detail() + "' lacks '" + needle + "'");
  }
}

// --------------------------------------------------------------------------- the tokenizer

TEST_CASE("near_miss_vocabulary_and_huge_prompt_are_refused_fast") {
  testing_gguf::Spec spec;
  spec.extra_tokens.push_back(std::string(1023, 'a') + "b");
  spec.context_length = 4096;
  const std::string path = g_dir + "/near_miss.gguf";
  CHECK(testing_gguf::write(path, spec));
  Context c;
  int err = -1;
  uint64_t vram = 0;
  CudaModel* model = cuda_load_model(c.ctx, path.c_str(), &vram, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  for (const std::size_t bytes : {std::size_t{10} << 20, std::size_t{100000}, std::size_t{4096}}) {
    const std::string prompt(bytes, 'a');
    const auto t0 = Clock::now();
    InferenceResult* r = cuda_inference_start(model, prompt.c_str(), 8, 0.0f, 0, &err);
    const double seconds = since(t0);
    CHECK(r == nullptr);
    CHECK_EQ(err, CUDA_ERROR_INVALID_PARAMETER);
    CHECK(detail_has("context length of 4096"));
    CHECK(seconds < 10.0);  // generous: the quadratic tokenizer needed ~35 s for 10 MB
    std::printf("prompt of %zu bytes refused in %.4f s\n", bytes, seconds);
  }
  // The long token itself still matches, and a prompt that fits starts.
  const std::string fits = std::string(1023, 'a') + "b" + std::string(100, 'a');
  InferenceResult* r = cuda_inference_start(model, fits.c_str(), 4, 0.0f, 0, &err);
  CHECK_EQ(err, CUDA_SUCCESS);
  cuda_inference_free(r);
  cuda_unload_model(model);
}

// --------------------------------------------------------------------------- lifetimes

// A context with a model of the tiny test vocabulary loaded.
struct Loaded {
  CudaContext* ctx = nullptr;
  CudaModel* model = nullptr;
  uint64_t vram = 0;
  Loaded() {
    testing_gguf::Spec spec;
    spec.d = 16;
    for (int k = 0; k < 64; ++k) spec.extra_tokens.push_back("w" + std::to_string(k));
    const std::string path = g_dir + "/lifetime.gguf";
    static const bool written = testing_gguf::write(path, spec);
    CHECK(written);
    int err = -1;
    ctx = cuda_init(0, &err);
    model = cuda_load_model(ctx, path.c_str(), &vram, &err);
    CHECK_EQ(err, CUDA_SUCCESS);
  }
};

TEST_CASE("destroying_a_context_while_next_token_runs_on_its_child") {
  // The destroyer waits for the call in flight; the caller's next call finds a stale handle.
  const uint64_t tracked = cuda_testing_tracked_bytes();
  const uint64_t handles = cuda_testing_live_handles();
  std::mt19937_64 rng(5);
  int wrong = 0, stale = 0;
  for (int round = 0; round < 60; ++round) {
    Loaded m;
    int err = -1;
    InferenceResult* r = cuda_inference_start(m.model, "w1w2", 2048, 1.0f, static_cast<uint64_t>(round), &err);
    CHECK_EQ(err, CUDA_SUCCESS);
    std::atomic<bool> started{false};
    std::thread user([&] {
      char out[256];
      for (;;) {
        int code = -1;
        const bool more = cuda_inference_next_token(r, out, sizeof out, nullptr, &code);
        started.store(true);
        if (more) continue;
        if (code == CUDA_ERROR_INVALID_PARAMETER) {
          ++stale;
        } else if (code != CUDA_SUCCESS) {
          ++wrong;
        }
        // After the stream or the handle ended, the handle must stay ended.
        if (cuda_inference_next_token(r, out, sizeof out, nullptr, &code) && code == CUDA_SUCCESS) continue;
        break;
      }
    });
    while (!started.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
    cuda_destroy(m.ctx);
    user.join();
  }
  std::printf("context destroyed under next_token: %d of 60 callers then saw a stale handle\n", stale);
  CHECK_EQ(wrong, 0);
  CHECK(stale > 0);
  CHECK_EQ(cuda_testing_live_handles(), handles);
  CHECK_EQ(cuda_testing_tracked_bytes(), tracked);
}

TEST_CASE("unloading_a_model_while_its_getters_run") {
  const uint64_t handles = cuda_testing_live_handles();
  int wrong = 0;
  for (int round = 0; round < 40; ++round) {
    Loaded m;
    std::atomic<bool> go{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
      readers.emplace_back([&] {
        go.wait(false);
        // Until the model is seen stale (bounded): every answer is right or INVALID_PARAMETER.
        for (int k = 0; k < 200000; ++k) {
          int code = -1;
          const uint64_t vram = cuda_model_get_vram_usage(m.model);
          if (vram != m.vram && vram != 0) bad.fetch_add(1);
          const uint32_t vocab = cuda_model_get_vocab_size(m.model, &code);
          if (!(code == CUDA_SUCCESS && vocab == 257 + 64) && !(code == CUDA_ERROR_INVALID_PARAMETER && vocab == 0)) bad.fetch_add(1);
          const bool gone = code == CUDA_ERROR_INVALID_PARAMETER;
          (void)cuda_model_get_context_length(m.model, &code);
          if (code != CUDA_SUCCESS && code != CUDA_ERROR_INVALID_PARAMETER) bad.fetch_add(1);
          const bool resident = cuda_check_vram_residency(m.model, &code);
          if (!(resident && code == CUDA_SUCCESS) && code != CUDA_ERROR_INVALID_PARAMETER) bad.fetch_add(1);
          (void)cuda_get_process_vram_usage(m.ctx);
          (void)cuda_check_device_health(m.ctx, &code);
          if (gone) break;
        }
      });
    }
    go.store(true);
    go.notify_all();
    std::this_thread::sleep_for(std::chrono::microseconds(round * 20));
    cuda_unload_model(m.model);
    if (round % 2 == 0) cuda_destroy(m.ctx);  // and the context under its getters
    for (auto& th : readers) th.join();
    if (round % 2 == 1) cuda_destroy(m.ctx);
    wrong += bad.load();
  }
  CHECK_EQ(wrong, 0);
  CHECK_EQ(cuda_testing_live_handles(), handles);
}

TEST_CASE("concurrent_destroyers_of_one_handle") {
  const uint64_t handles = cuda_testing_live_handles();
  for (int round = 0; round < 40; ++round) {
    Loaded m;
    int err = -1;
    InferenceResult* r = cuda_inference_start(m.model, "w3", 16, 0.0f, 0, &err);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        if (t == 0) cuda_inference_free(r);
        if (t == 1) cuda_unload_model(m.model);
        cuda_destroy(m.ctx);  // every thread: exactly one of them destroys it
      });
    }
    for (auto& th : threads) th.join();
  }
  CHECK_EQ(cuda_testing_live_handles(), handles);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SCRATCH_DIR [filter]\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];
  ::mkdir(g_dir.c_str(), 0700);
  return check::run(argc > 2 ? argv[2] : nullptr);
}
