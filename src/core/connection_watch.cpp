#include "cdc/core/connection_watch.hpp"

#include <sys/socket.h>

namespace cdc {

void ConnectionWatch::arm(int socket) {
  std::lock_guard lock(mutex_);
  socket_ = socket;
}

void ConnectionWatch::disarm() {
  std::lock_guard lock(mutex_);
  socket_ = -1;
}

bool ConnectionWatch::trip() {
  std::lock_guard lock(mutex_);
  if (socket_ < 0) return false;
  return ::shutdown(socket_, SHUT_RDWR) == 0;
}

}  // namespace cdc
