#include "server/timer_queue.h"

namespace prover::server {

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t TimerQueue::Schedule(Clock::time_point when, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_id_++;
  timers_.emplace(when, std::make_pair(id, std::move(fn)));
  when_[id] = when;
  cv_.notify_all();
  return id;
}

bool TimerQueue::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto w = when_.find(id);
  if (w == when_.end()) return false;
  auto range = timers_.equal_range(w->second);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.first == id) {
      timers_.erase(it);
      break;
    }
  }
  when_.erase(w);
  return true;
}

void TimerQueue::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto next = timers_.begin()->first;
    if (Clock::now() < next) {
      cv_.wait_until(lock, next);
      continue;
    }
    auto node = timers_.extract(timers_.begin());
    when_.erase(node.mapped().first);
    lock.unlock();
    node.mapped().second();
    lock.lock();
  }
}

}  // namespace prover::server
