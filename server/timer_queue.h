// One thread that runs callbacks at given times (long-poll timeouts). Callbacks run on the
// timer thread, must be short and must not call Cancel on their own timer. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace prover::server {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;
  TimerQueue();
  ~TimerQueue();  // drops pending timers without running them
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  uint64_t Schedule(Clock::time_point when, std::function<void()> fn);
  // False when the timer already ran (or is running) or never existed.
  bool Cancel(uint64_t id);

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::pair<uint64_t, std::function<void()>>> timers_;
  std::map<uint64_t, Clock::time_point> when_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace prover::server
