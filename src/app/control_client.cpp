#include "app/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "app/control_protocol.h"

namespace sipbox::app {

std::unique_ptr<ControlClient> ControlClient::connect(const std::filesystem::path& data_dir) {
  const std::string path = (data_dir / kControlSocketName).string();
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return nullptr;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<ControlClient>(new ControlClient(fd));
}

ControlClient::~ControlClient() { ::close(fd_); }

Result<nlohmann::json> ControlClient::call(const nlohmann::json& request) {
  const std::string line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return fail("lost the connection to sipboxd");
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[65536];
  while (reply.find('\n') == std::string::npos) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return fail("sipboxd closed the control connection");
    reply.append(buf, static_cast<std::size_t>(n));
  }
  auto json = nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
  if (json.is_discarded() || !json.is_object()) return fail("sipboxd sent a malformed reply");
  return json;
}

}  // namespace sipbox::app
