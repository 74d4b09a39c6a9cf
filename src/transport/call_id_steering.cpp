// Call-ID steering of a SO_REUSEPORT group of UDP sockets: an eBPF program that the
// kernel runs for each datagram to pick the socket (one per worker) that owns its
// Call-ID. Without it the kernel hashes the source address, so the two parties of a call
// reach different workers and half of a call's datagrams are handed over in user space
// (a copy, a wake-up of the other worker and a second parse).
//
// The program is assembled here, not compiled: a Debian build has no BPF compiler to
// rely on, and the program is fifty instructions. It reads the payload with the classic
// packet loads (BPF_LD | BPF_ABS / BPF_IND), which socket filters keep and which never
// fault: a read past the end ends the program, and every read is checked against the
// datagram's length first.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "transport/detail.h"
#include "transport/transport.h"

#if defined(__linux__)
#include <linux/bpf.h>
#include <sys/syscall.h>
#endif

namespace sipbox::transport {

namespace {
constexpr std::uint32_t kFnvOffset = 0x811c9dc5u;
constexpr std::uint32_t kFnvPrime = 0x01000193u;
}  // namespace

unsigned call_id_worker(std::string_view call_id, unsigned workers) {
  if (workers <= 1) return 0;
  std::uint32_t hash = kFnvOffset;  // FNV-1a, 32 bit: cheap in eBPF as well
  for (const char c : call_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash % workers;
}

namespace detail {

#if defined(__linux__)
namespace {

// Header bytes are scanned this far: a Call-ID further in is rare, and then the kernel's
// own hash picks the socket and the core hands the datagram over as before. The bound
// also keeps the verifier's walk through every iteration small.
constexpr std::int32_t kScanLimit = 1200;

enum Reg : std::uint8_t { R0 = 0, R1 = 1, R6 = 6, R7 = 7, R8 = 8, R9 = 9 };

// A tiny assembler: jumps name labels, resolved into offsets by finish().
class Assembler {
 public:
  using Label = int;
  Label label() {
    targets_.push_back(-1);
    return static_cast<Label>(targets_.size() - 1);
  }
  void bind(Label l) { targets_[static_cast<std::size_t>(l)] = static_cast<int>(code_.size()); }

  void emit(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = off;
    insn.imm = imm;
    code_.push_back(insn);
  }
  void alu64_imm(std::uint8_t op, std::uint8_t dst, std::int32_t imm) { emit(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
  void alu64_reg(std::uint8_t op, std::uint8_t dst, std::uint8_t src) { emit(BPF_ALU64 | op | BPF_X, dst, src, 0, 0); }
  void alu32_imm(std::uint8_t op, std::uint8_t dst, std::int32_t imm) { emit(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
  void alu32_reg(std::uint8_t op, std::uint8_t dst, std::uint8_t src) { emit(BPF_ALU | op | BPF_X, dst, src, 0, 0); }
  void load_imm64(std::uint8_t dst, std::uint64_t value) {
    emit(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, static_cast<std::int32_t>(value & 0xffffffffu));
    emit(0, 0, 0, 0, static_cast<std::int32_t>(value >> 32));
  }
  // r0 = the payload byte at offset `index` (r6 must hold the context).
  void load_byte(std::uint8_t index) { emit(BPF_LD | BPF_IND | BPF_B, 0, index, 0, 0); }
  void jump_imm(std::uint8_t op, std::uint8_t dst, std::int32_t imm, Label to) {
    fixups_.emplace_back(code_.size(), to);
    emit(BPF_JMP | op | BPF_K, dst, 0, 0, imm);
  }
  void jump_reg(std::uint8_t op, std::uint8_t dst, std::uint8_t src, Label to) {
    fixups_.emplace_back(code_.size(), to);
    emit(BPF_JMP | op | BPF_X, dst, src, 0, 0);
  }
  void jump(Label to) { jump_imm(BPF_JA, 0, 0, to); }
  void exit() { emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

  std::vector<bpf_insn> finish() {
    for (const auto& [at, to] : fixups_)
      code_[at].off = static_cast<std::int16_t>(targets_[static_cast<std::size_t>(to)] - static_cast<int>(at) - 1);
    return code_;
  }

 private:
  std::vector<bpf_insn> code_;
  std::vector<int> targets_;
  std::vector<std::pair<std::size_t, Label>> fixups_;
};

// Returns call_id_worker(Call-ID, workers) as the socket index, or 0xffffffff (past the
// group's end: the kernel falls back to its hash) for a REGISTER and when no Call-ID is
// found.
std::vector<bpf_insn> steering_program(unsigned workers) {
  Assembler a;
  const auto name = a.label(), colon = a.label(), space = a.label(), skip = a.label(), hash = a.label(),
             byte = a.label(), done = a.label(), none = a.label(), bounded = a.label(), scan = a.label();
  a.alu64_reg(BPF_MOV, R6, R1);                                            // r6 = skb (the packet loads use it)
  a.emit(BPF_LDX | BPF_MEM | BPF_W, R9, R6, offsetof(__sk_buff, len), 0);  // r9 = payload length
  a.jump_imm(BPF_JLE, R9, kScanLimit, bounded);
  a.alu64_imm(BPF_MOV, R9, kScanLimit);
  a.bind(bounded);
  // A REGISTER is left to the kernel's hash of its source: the registrar's state is
  // shared, so the worker it reaches answers it, and one client's REGISTERs (and their
  // retransmissions) keep reaching the same worker, which takes them in batches.
  a.jump_imm(BPF_JLT, R9, 9, scan);
  a.emit(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0);  // r0 = bytes 0-3, network order
  a.jump_imm(BPF_JNE, R0, 0x52454749, scan);     // "REGI"
  a.emit(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 4);
  a.jump_imm(BPF_JEQ, R0, 0x53544552, none);  // "STER"
  a.bind(scan);
  a.alu64_imm(BPF_MOV, R8, 0);  // r8 = offset
  a.alu64_imm(BPF_MOV, R7, 0);  // r7 = the last 8 bytes, ORed with 0x20 (lower case; LF becomes '*')

  // "\nCall-ID" or "\ni" (RFC 3261 compact form), any case.
  a.bind(name);
  a.jump_reg(BPF_JGE, R8, R9, none);
  a.load_byte(R8);
  a.alu64_imm(BPF_OR, R0, 0x20);
  a.alu64_imm(BPF_LSH, R7, 8);
  a.alu64_reg(BPF_OR, R7, R0);
  a.alu64_imm(BPF_ADD, R8, 1);
  a.load_imm64(R1, 0x2a63616c6c2d6964ULL);  // "*call-id"
  a.jump_reg(BPF_JEQ, R7, R1, colon);
  a.alu64_reg(BPF_MOV, R1, R7);
  a.alu64_imm(BPF_AND, R1, 0xffff);
  a.jump_imm(BPF_JEQ, R1, 0x2a69, colon);  // "*i"
  a.jump(name);

  // Optional blanks, then the colon; anything else was another header ("Identity").
  a.bind(colon);
  a.jump_reg(BPF_JGE, R8, R9, none);
  a.load_byte(R8);
  a.alu64_imm(BPF_ADD, R8, 1);
  a.jump_imm(BPF_JEQ, R0, ':', space);
  a.jump_imm(BPF_JEQ, R0, ' ', colon);
  a.jump_imm(BPF_JEQ, R0, '\t', colon);
  a.jump(name);

  // Blanks before the value.
  a.bind(space);
  a.jump_reg(BPF_JGE, R8, R9, none);
  a.load_byte(R8);
  a.jump_imm(BPF_JEQ, R0, ' ', skip);
  a.jump_imm(BPF_JEQ, R0, '\t', skip);
  a.jump(hash);
  a.bind(skip);
  a.alu64_imm(BPF_ADD, R8, 1);
  a.jump(space);

  // FNV-1a over the value, up to a blank or control character (a Call-ID is "word[@word]").
  a.bind(hash);
  a.alu32_imm(BPF_MOV, R7, static_cast<std::int32_t>(kFnvOffset));
  a.bind(byte);
  a.jump_reg(BPF_JGE, R8, R9, done);
  a.load_byte(R8);
  a.jump_imm(BPF_JLE, R0, ' ', done);
  a.alu32_reg(BPF_XOR, R7, R0);
  a.alu32_imm(BPF_MUL, R7, static_cast<std::int32_t>(kFnvPrime));
  a.alu64_imm(BPF_ADD, R8, 1);
  a.jump(byte);
  a.bind(done);
  a.alu32_imm(BPF_MOD, R7, static_cast<std::int32_t>(workers));
  a.alu64_reg(BPF_MOV, R0, R7);
  a.exit();

  a.bind(none);
  a.alu32_imm(BPF_MOV, R0, -1);
  a.exit();
  return a.finish();
}

}  // namespace

Result<int> load_call_id_steering(unsigned workers) {
  if (workers < 2) return fail("Call-ID steering needs at least 2 workers");
  const std::vector<bpf_insn> program = steering_program(workers);
  // No GPL-only helper is called: the kernel reads the licence string for those only.
  static const char kLicense[] = "sipbox";
  const auto load = [&](char* log, std::uint32_t log_size) {
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = reinterpret_cast<std::uint64_t>(program.data());
    attr.insn_cnt = static_cast<std::uint32_t>(program.size());
    attr.license = reinterpret_cast<std::uint64_t>(kLicense);
    attr.log_buf = reinterpret_cast<std::uint64_t>(log);
    attr.log_size = log_size;
    attr.log_level = log == nullptr ? 0 : 1;
    return ::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  };
  const long prog = load(nullptr, 0);
  if (prog >= 0) return static_cast<int>(prog);
  const int error = errno;
  std::string reason = std::string("loading the eBPF program: ") + std::strerror(error);
  if (error == EPERM) return fail(reason + " (needs CAP_BPF, or root)");
  // Again with the verifier's log, whose last lines say why. The log of a whole walk is
  // long: a full buffer (ENOSPC) still holds the end.
  std::string log(1 << 20, '\0');
  (void)load(log.data(), static_cast<std::uint32_t>(log.size()));
  log.resize(std::strlen(log.c_str()));
  if (!log.empty()) reason += ": " + log.substr(log.size() > 300 ? log.size() - 300 : 0);
  return fail(reason);
}

Status attach_call_id_steering(int socket_fd, int program_fd) {
  if (::setsockopt(socket_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &program_fd, sizeof program_fd) != 0)
    return fail(std::string("SO_ATTACH_REUSEPORT_EBPF: ") + std::strerror(errno));
  return {};
}
#else
Result<int> load_call_id_steering(unsigned) { return fail("Call-ID steering needs Linux"); }
Status attach_call_id_steering(int, int) { return fail("Call-ID steering needs Linux"); }
#endif

}  // namespace detail
}  // namespace sipbox::transport
