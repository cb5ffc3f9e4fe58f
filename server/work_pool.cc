#include "server/work_pool.h"

namespace prover::server {

WorkPool::WorkPool(uint32_t threads, uint32_t max_queued) : max_queued_(max_queued) {
  for (uint32_t i = 0; i < std::max<uint32_t>(1, threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

WorkPool::~WorkPool() { Shutdown(); }

void WorkPool::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool WorkPool::TryPost(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
  return true;
}

void WorkPool::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_) {
      queue_.push_back(std::move(fn));
      cv_.notify_one();
      return;
    }
  }
  fn();
}

size_t WorkPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void WorkPool::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    fn();
    lock.lock();
  }
}

struct BudgetState {
  std::mutex mu;
  uint64_t limit = 0, per_key_limit = 0, used = 0;
  std::map<std::string, uint64_t> by_key;

  bool Fits(const std::string& key, uint64_t more) const {
    if (more > limit - std::min(limit, used)) return false;
    if (per_key_limit == 0) return true;
    auto it = by_key.find(key);
    const uint64_t mine = it == by_key.end() ? 0 : it->second;
    return more <= per_key_limit - std::min(per_key_limit, mine);
  }
  void Add(const std::string& key, uint64_t bytes) {
    if (bytes == 0) return;
    used += bytes;
    by_key[key] += bytes;
  }
  void Sub(const std::string& key, uint64_t bytes) {
    if (bytes == 0) return;
    used -= bytes;
    auto it = by_key.find(key);
    if ((it->second -= bytes) == 0) by_key.erase(it);
  }
};

ByteBudget::ByteBudget(uint64_t limit, uint64_t per_key_limit)
    : state_(std::make_shared<BudgetState>()) {
  state_->limit = limit;
  state_->per_key_limit = per_key_limit;
}

std::optional<ByteBudget::Lease> ByteBudget::TryReserve(const std::string& key, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->Fits(key, bytes)) return std::nullopt;
  state_->Add(key, bytes);
  Lease lease;
  lease.state_ = state_;
  lease.key_ = key;
  lease.bytes_ = bytes;
  return lease;
}

ByteBudget::Lease& ByteBudget::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    Release();
    state_ = std::move(o.state_);
    key_ = std::move(o.key_);
    bytes_ = o.bytes_;
    o.bytes_ = 0;
    o.state_.reset();
  }
  return *this;
}

bool ByteBudget::Lease::Resize(uint64_t bytes) {
  if (!state_) return false;
  std::lock_guard<std::mutex> lock(state_->mu);
  if (bytes > bytes_) {
    if (!state_->Fits(key_, bytes - bytes_)) return false;
    state_->Add(key_, bytes - bytes_);
  } else if (bytes < bytes_) {
    state_->Sub(key_, bytes_ - bytes);
  }
  bytes_ = bytes;
  return true;
}

void ByteBudget::Lease::Release() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (bytes_ > 0) state_->Sub(key_, bytes_);
  }
  bytes_ = 0;
  state_.reset();
}

uint64_t ByteBudget::used() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->used;
}

uint64_t ByteBudget::used(const std::string& key) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->by_key.find(key);
  return it == state_->by_key.end() ? 0 : it->second;
}

uint64_t ByteBudget::limit() const { return state_->limit; }
uint64_t ByteBudget::per_key_limit() const { return state_->per_key_limit; }

}  // namespace prover::server
