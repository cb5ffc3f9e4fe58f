// Helpers shared by the CLI's offline and remote commands: flag parsing, files written
// atomically, public inputs and proof parameters from flags.
#pragma once

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "engine/field/goldilocks.h"
#include "engine/protocol/params.h"

namespace prover::cli {

// Exit statuses (README, "Exit status"): the answer, then who is at fault.
inline constexpr int kYes = 0;
inline constexpr int kNo = 1;            // a proof rejected, a trace that breaks its AIR, a job
                                         // FAILED or CANCELLED, a server NOT_SERVING
inline constexpr int kUsageError = 2;    // the command line: an unknown command or flag, a
                                         // missing or malformed flag value
inline constexpr int kInputError = 3;    // a file or value the command reads or writes is
                                         // missing, unreadable or invalid, or the server
                                         // refused the request as invalid
inline constexpr int kServiceError = 4;  // the server could not be reached, refused the
                                         // caller, or failed

// Marks an error as one of the command's inputs (exit kInputError), not of its flags.
inline absl::Status InputError(absl::Status s) {
  s.SetPayload("prover.cli/input", absl::Cord("1"));
  return s;
}
inline bool IsInputError(const absl::Status& s) {
  return s.GetPayload("prover.cli/input").has_value();
}

// --name value, --name=value and positional arguments; every flag must be known.
class Flags {
 public:
  static absl::StatusOr<Flags> Parse(const std::vector<std::string>& args,
                                     const std::vector<std::string>& known) {
    Flags f;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a.rfind("--", 0) != 0) {
        f.positional_.push_back(a);
        continue;
      }
      std::string name = a.substr(2), value;
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else {
        if (i + 1 >= args.size())
          return absl::InvalidArgumentError(absl::StrCat("--", name, ": missing value"));
        value = args[++i];
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
      }
      f.values_[name] = value;
    }
    return f;
  }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  absl::StatusOr<uint64_t> GetU64(const std::string& name, uint64_t fallback) const {
    if (!Has(name)) return fallback;
    const std::string v = Get(name);
    uint64_t out = 0;
    if (v.empty() || v.size() > 19)
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", v, "' is not a number"));
    for (char c : v) {
      if (c < '0' || c > '9')
        return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", v, "' is not a number"));
      out = out * 10 + uint64_t(c - '0');
    }
    return out;
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// One line on stderr; kInputError for errors marked InputError, else kUsageError.
inline int Usage(const absl::Status& s) {
  std::fprintf(stderr, "prover: %s\n", std::string(s.message()).c_str());
  return IsInputError(s) ? kInputError : kUsageError;
}
inline int Input(const absl::Status& s) { return Usage(InputError(s)); }

inline absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InputError(absl::NotFoundError(absl::StrCat(path, ": cannot open")));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes through a temporary file and a rename, so a failure leaves no partial file.
inline absl::Status WriteFileAtomically(const std::string& path, const void* data, size_t size) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return InputError(absl::PermissionDeniedError(absl::StrCat(path, ": cannot write")));
    }
    out.write(static_cast<const char*>(data), std::streamsize(size));
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      return InputError(absl::DataLossError(absl::StrCat(path, ": write failed")));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    return InputError(absl::PermissionDeniedError(absl::StrCat(path, ": ", ec.message())));
  }
  return absl::OkStatus();
}

inline absl::StatusOr<std::vector<Fp>> ParsePublicInputs(const std::string& spec) {
  std::string text = spec;
  if (!spec.empty() && spec[0] == '@') {
    auto file = ReadFile(spec.substr(1));
    if (!file.ok()) return file.status();
    text = *file;
  }
  for (char& c : text) {
    if (c == ',' || c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  std::istringstream in(text);
  std::vector<Fp> out;
  std::string tok;
  while (in >> tok) {
    const std::string path = absl::StrCat("public_inputs[", out.size(), "]");
    uint64_t v = 0;
    bool ok = !tok.empty() && tok.size() <= 20;
    unsigned __int128 acc = 0;
    for (char c : tok) {
      ok = ok && c >= '0' && c <= '9';
      acc = acc * 10 + unsigned(c - '0');
    }
    if (!ok || acc >= Fp::kModulus) {
      return InputError(absl::InvalidArgumentError(
          absl::StrCat(path, ": '", tok, "' is not a canonical field element (decimal, < p)")));
    }
    v = uint64_t(acc);
    out.push_back(Fp::FromCanonical(v));
  }
  return out;
}

// --first-layer: auto (the default: virtual when that makes the proof smaller), committed
// or virtual (docs/PROTOCOL.md section 8).
inline absl::StatusOr<stark::FirstLayer> ParseFirstLayer(const Flags& f) {
  const std::string v = f.Has("first-layer") ? f.Get("first-layer") : "auto";
  if (v == "auto") return stark::FirstLayer::kAuto;
  if (v == "committed") return stark::FirstLayer::kCommitted;
  if (v == "virtual") return stark::FirstLayer::kVirtual;
  return absl::InvalidArgumentError(
      absl::StrCat("--first-layer: '", v, "'; expected auto, committed or virtual"));
}

inline absl::StatusOr<stark::ProofParams> ParseParams(const Flags& f) {
  stark::ProofParams p;
  auto log2_of = [&](const std::string& name, uint32_t fallback_log) -> absl::StatusOr<uint32_t> {
    auto v = f.GetU64(name, uint64_t{1} << fallback_log);
    if (!v.ok()) return v.status();
    if (*v == 0 || (*v & (*v - 1)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": ", *v, " is not a power of two"));
    }
    uint32_t l = 0;
    while ((uint64_t{1} << l) < *v) ++l;
    return l;
  };
  auto b = log2_of("blowup", p.log_blowup);
  auto a = log2_of("arity", p.log_fri_arity);
  auto fs = log2_of("final-size", p.log_final_size);
  auto q = f.GetU64("queries", p.num_queries);
  auto g = f.GetU64("grinding", p.grinding_bits);
  for (const absl::Status& s : {b.status(), a.status(), fs.status(), q.status(), g.status()}) {
    if (!s.ok()) return s;
  }
  p.log_blowup = *b;
  p.log_fri_arity = *a;
  p.log_final_size = *fs;
  p.num_queries = uint32_t(std::min<uint64_t>(*q, 1u << 20));
  p.grinding_bits = uint32_t(std::min<uint64_t>(*g, 1u << 20));
  auto first = ParseFirstLayer(f);
  if (!first.ok()) return first.status();
  p.first_layer = *first;
  return p;
}

}  // namespace prover::cli
