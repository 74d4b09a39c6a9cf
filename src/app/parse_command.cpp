#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/commands.h"
#include "sip/sip.h"

namespace sipbox::app {
namespace {

struct Options {
  std::vector<std::string> files;
  bool json = false;
  bool stream = false;
};

Result<std::string> read_file(const std::string& path) {
  if (path == "-") {
    std::ostringstream out;
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read file");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// JSON strings must be UTF-8; message text may not be.
std::string printable(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    out.push_back(b >= 0x20 && b < 0x7f ? ch : '?');
  }
  return out;
}

int run(const Options& options) {
  nlohmann::json report = nlohmann::json::array();
  bool all_valid = true;
  const auto framing = options.stream ? sip::Framing::Stream : sip::Framing::Datagram;
  for (const std::string& path : options.files) {
    nlohmann::json entry{{"file", path}};
    auto bytes = read_file(path);
    sip::Message message;
    Status status = bytes ? sip::parse_message(*bytes, framing, message) : Status(Unexpected<Error>{bytes.error()});
    if (status) {
      entry["verdict"] = "valid";
      entry["reason"] = nullptr;
      if (message.is_request()) {
        entry["method"] = printable(message.method());
      } else {
        entry["status"] = message.status_code();
      }
      entry["call_id"] = printable(message.call_id());
      entry["headers"] = message.header_count();
    } else {
      all_valid = false;
      entry["verdict"] = "invalid";
      entry["reason"] = status.error().message;
    }
    if (!options.json) {
      std::cout << path << ": " << entry["verdict"].get<std::string>();
      if (!status) std::cout << ": " << status.error().message;
      std::cout << '\n';
    }
    report.push_back(std::move(entry));
  }
  if (options.json) std::cout << report.dump(2) << '\n';
  return all_valid ? 0 : 1;
}

}  // namespace

void add_parse_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "parse", "Parse SIP message files and print a verdict for each: 'valid' or 'invalid: reason'. "
               "Exit status 0 when every message is valid, 1 otherwise.");
  cmd->add_option("files", options->files, "Message files ('-' reads standard input)")->required();
  cmd->add_flag("--json", options->json,
                "Print a JSON array: file, verdict, reason, method or status, call_id, headers (count)");
  cmd->add_flag("--stream", options->stream,
                "Frame as on TCP/TLS (Content-Length required) instead of as a UDP datagram");
  cmd->callback([options, &exit_code] { exit_code = run(*options); });
}

}  // namespace sipbox::app
