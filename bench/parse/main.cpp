// bench_parse: messages per second of sipbox's SIP parser and of libosip2's on the same
// bytes, in one run, plus heap allocations per parse (bench/parse/README.md).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_count.h"
#include "parsers.h"

namespace sipbox::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  fs::path messages = SIPBOX_BENCH_MESSAGES;
  double seconds = 1.5;           // per parser and row
  int samples = 15;               // the figure shown is their median
  std::string profile;            // "sipbox" or "osip2": only parse the mix with it, for a profiler
  bool trap_allocations = false;  // SIGTRAP on sipbox's first allocation while parsing
};

struct Corpus {
  std::vector<std::string> names;
  std::vector<std::string> bytes;
};

// What one table row parses: its messages in order, round after round.
struct Workload {
  std::string name;
  std::vector<std::string_view> messages;
  std::size_t bytes = 0;
  std::size_t headers = 0;
};

struct Row {
  const Workload* workload = nullptr;
  double sipbox_rate = 0;  // messages per second
  double osip2_rate = 0;
  double sipbox_allocations = 0;  // per parse
  double osip2_mallocs = 0;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "bench_parse: %s\n", message.c_str());
  std::exit(1);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--messages" && has_value) {
      options.messages = argv[++i];
    } else if (arg == "--seconds" && has_value) {
      options.seconds = std::atof(argv[++i]);
      if (!(options.seconds > 0)) die("--seconds wants a positive number");
    } else if (arg == "--samples" && has_value) {
      options.samples = std::atoi(argv[++i]);
      if (options.samples < 1) die("--samples wants a positive number");
    } else if (arg == "--profile" && has_value) {
      options.profile = argv[++i];
      if (options.profile != "sipbox" && options.profile != "osip2") die("--profile wants sipbox or osip2");
    } else if (arg == "--trap-allocations") {
      options.trap_allocations = true;
    } else {
      std::printf(
          "usage: bench_parse [--messages DIR] [--seconds S] [--samples N] [--profile sipbox|osip2]\n"
          "                   [--trap-allocations]\n"
          "  --messages DIR  *.sip files to parse (default %s)\n"
          "  --seconds S     time per parser and row (default 1.5)\n"
          "  --samples N     samples per parser and row; the median is shown (default 15)\n"
          "  --profile P     only parse the mix with parser P for S seconds (to run under perf)\n"
          "  --trap-allocations  raise SIGTRAP at sipbox's first heap allocation while parsing\n"
          "                  (run under gdb and type bt to see where it allocates)\n",
          SIPBOX_BENCH_MESSAGES);
      std::exit(arg == "--help" || arg == "-h" ? 0 : 2);
    }
  }
  return options;
}

Corpus load(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".sip") files.push_back(entry.path());
  if (ec) die("cannot read " + dir.string() + ": " + ec.message());
  if (files.empty()) die("no *.sip files in " + dir.string());
  std::sort(files.begin(), files.end());
  Corpus corpus;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in && !in.eof()) die("cannot read " + file.string());
    corpus.names.push_back(file.stem().string());
    corpus.bytes.push_back(std::move(bytes));
  }
  return corpus;
}

// Both parsers must accept every message, sipbox must use all of its bytes (the
// Content-Length is right), and both must read the same field values.
void verify(const Corpus& corpus, SipboxParser& sipbox, Osip2Parser& osip2) {
  for (std::size_t i = 0; i < corpus.bytes.size(); ++i) {
    const std::string& name = corpus.names[i];
    const std::string_view bytes = corpus.bytes[i];
    const Outcome a = sipbox.parse(bytes);
    if (!a.ok) die("sipbox rejects " + name + ": " + sipbox.error());
    if (sipbox.message().bytes().size() != bytes.size())
      die("sipbox uses " + std::to_string(sipbox.message().bytes().size()) + " of the " + std::to_string(bytes.size()) +
          " bytes of " + name + " (wrong Content-Length?)");
    const Outcome b = osip2.parse(bytes);
    if (!b.ok) die("osip2 rejects " + name + " (osip_message_parse returned " + std::to_string(osip2.error()) + ")");
    if (a.digest != b.digest) die("sipbox and osip2 read different field values from " + name);
  }
}

template <class Parser>
double time_rounds(Parser& parser, const Workload& w, std::size_t rounds) {
  const auto start = Clock::now();
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::string_view bytes : w.messages) {
      Outcome outcome = parser.parse(bytes);
      benchmark::DoNotOptimize(outcome);
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Rounds that take about `seconds` (after warming caches and branch predictors).
template <class Parser>
std::size_t calibrate(Parser& parser, const Workload& w, double seconds) {
  std::size_t rounds = 1;
  double t = 0;
  while ((t = time_rounds(parser, w, rounds)) < 0.01) rounds *= 2;
  return std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(rounds) * seconds / t));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Row measure(const Workload& w, const Options& options, SipboxParser& sipbox, Osip2Parser& osip2) {
  Row row;
  row.workload = &w;
  const double per_message = static_cast<double>(w.messages.size());

  // Allocations, outside the timed samples.
  constexpr std::size_t kCountRounds = 200;
  time_rounds(sipbox, w, 1);
  const std::uint64_t before = heap_allocations();
  trap_allocations(options.trap_allocations);
  time_rounds(sipbox, w, kCountRounds);
  trap_allocations(false);
  row.sipbox_allocations = static_cast<double>(heap_allocations() - before) / (kCountRounds * per_message);
  Osip2Parser::count_mallocs(true);
  const std::uint64_t mallocs_before = Osip2Parser::mallocs();
  time_rounds(osip2, w, kCountRounds);
  row.osip2_mallocs = static_cast<double>(Osip2Parser::mallocs() - mallocs_before) / (kCountRounds * per_message);
  Osip2Parser::count_mallocs(false);

  // Samples alternate between the parsers so that both see the same machine load.
  const double sample_seconds = options.seconds / options.samples;
  const std::size_t sipbox_rounds = calibrate(sipbox, w, sample_seconds);
  const std::size_t osip2_rounds = calibrate(osip2, w, sample_seconds);
  std::vector<double> sipbox_rates, osip2_rates;
  for (int i = 0; i < options.samples; ++i) {
    sipbox_rates.push_back(static_cast<double>(sipbox_rounds) * per_message / time_rounds(sipbox, w, sipbox_rounds));
    osip2_rates.push_back(static_cast<double>(osip2_rounds) * per_message / time_rounds(osip2, w, osip2_rounds));
  }
  row.sipbox_rate = median(sipbox_rates);
  row.osip2_rate = median(osip2_rates);
  return row;
}

std::string per_parse(double count) {
  char text[32];
  if (count == static_cast<double>(static_cast<long long>(count)))
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(count));
  else
    std::snprintf(text, sizeof text, "%.2f", count);
  return text;
}

void print_row(const Row& row) {
  const Workload& w = *row.workload;
  const std::string headers = w.headers ? std::to_string(w.headers) : "";
  std::printf("%-18s %6zu %5s %14.0f %14.0f %7.2f %14s %14s\n", w.name.c_str(), w.bytes, headers.c_str(),
              row.sipbox_rate, row.osip2_rate, row.sipbox_rate / row.osip2_rate,
              per_parse(row.sipbox_allocations).c_str(), per_parse(row.osip2_mallocs).c_str());
}

int run(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  const Corpus corpus = load(options.messages);
  SipboxParser sipbox;
  Osip2Parser osip2;
  verify(corpus, sipbox, osip2);

  std::vector<Workload> workloads;
  Workload mix;
  mix.name = "mix (" + std::to_string(corpus.bytes.size()) + " messages)";
  for (std::size_t i = 0; i < corpus.bytes.size(); ++i) {
    (void)sipbox.parse(corpus.bytes[i]);
    workloads.push_back({corpus.names[i], {corpus.bytes[i]}, corpus.bytes[i].size(), sipbox.message().header_count()});
    mix.messages.push_back(corpus.bytes[i]);
    mix.bytes += corpus.bytes[i].size();
  }
  workloads.push_back(mix);

  if (!options.profile.empty()) {
    const auto rounds = static_cast<std::size_t>(options.seconds * 1e5 / static_cast<double>(mix.messages.size()));
    const double t = options.profile == "sipbox" ? time_rounds(sipbox, mix, rounds) : time_rounds(osip2, mix, rounds);
    std::printf("%s: %.0f messages/s\n", options.profile.c_str(),
                static_cast<double>(rounds * mix.messages.size()) / t);
    return 0;
  }

  std::printf("bench_parse: %zu messages from %s; both parsers accept all and read the same field values\n",
              corpus.bytes.size(), options.messages.c_str());
  std::printf("median of %d samples, %.2f s per parser and row; mix = the messages in turn\n\n", options.samples,
              options.seconds);
  std::printf("%-18s %6s %5s %14s %14s %7s %14s %14s\n", "message", "bytes", "hdrs", "sipbox msg/s", "osip2 msg/s",
              "ratio", "sipbox allocs", "osip2 mallocs");
  std::vector<Row> rows;
  for (const Workload& w : workloads) {
    rows.push_back(measure(w, options, sipbox, osip2));
    print_row(rows.back());
    std::fflush(stdout);
  }
  const Row& whole = rows.back();
  std::printf("\nsipbox heap allocations per parse: %s\n", per_parse(whole.sipbox_allocations).c_str());
  std::printf("osip2 mallocs per parse: %s\n", per_parse(whole.osip2_mallocs).c_str());
  if (whole.sipbox_allocations > 0)
    std::printf("(to see where sipbox allocates: gdb --args %s --trap-allocations, run, bt)\n", argv[0]);
  std::printf("ratio sipbox/osip2: %.2f\n", whole.sipbox_rate / whole.osip2_rate);
  return 0;
}

}  // namespace
}  // namespace sipbox::bench

int main(int argc, char** argv) { return sipbox::bench::run(argc, argv); }
