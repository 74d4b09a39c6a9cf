// Test helper: reads third-party messages from shared/corpora (SIPBOX_CORPORA).
#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace sipbox::sip::test {

inline std::string corpus_path(const std::string& relative) { return std::string(SIPBOX_CORPORA) + "/" + relative; }

inline std::string read_corpus(const std::string& relative) {
  std::ifstream in(corpus_path(relative), std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + corpus_path(relative));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace sipbox::sip::test
