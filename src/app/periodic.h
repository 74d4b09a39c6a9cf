// A task run on an io_context every `period` until cancel() (or destruction).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>

namespace sipbox::app {

class PeriodicTask {
 public:
  PeriodicTask(boost::asio::io_context& io, std::chrono::steady_clock::duration period, std::function<void()> task)
      : timer_(io), period_(period), task_(std::move(task)) {
    arm();
  }
  void cancel() { timer_.cancel(); }

 private:
  void arm() {
    timer_.expires_after(period_);
    timer_.async_wait([this](const boost::system::error_code& error) {
      if (error) return;
      task_();
      arm();
    });
  }

  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::duration period_;
  std::function<void()> task_;
};

}  // namespace sipbox::app
