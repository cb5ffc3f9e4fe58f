#include "server/reflection_v1.h"

#include <set>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "prover/v1/proof.pb.h"

namespace prover::server {
namespace {

namespace rv1 = grpc::reflection::v1;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

// `file` and its dependencies, each once, the file first.
void AddFile(const FileDescriptor* file, std::set<std::string>& seen,
             rv1::FileDescriptorResponse* out) {
  if (file == nullptr || !seen.insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  out->add_file_descriptor_proto(proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i) AddFile(file->dependency(i), seen, out);
}

void NotFound(rv1::ServerReflectionResponse& r, const std::string& what) {
  r.mutable_error_response()->set_error_code(int(grpc::StatusCode::NOT_FOUND));
  r.mutable_error_response()->set_error_message(what);
}

class Reactor final
    : public grpc::ServerBidiReactor<rv1::ServerReflectionRequest, rv1::ServerReflectionResponse> {
 public:
  explicit Reactor(const ReflectionV1* service) : service_(service) { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client is done asking
    response_ = service_->Answer(request_);
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  const ReflectionV1* service_;
  rv1::ServerReflectionRequest request_;
  rv1::ServerReflectionResponse response_;
};

}  // namespace

ReflectionV1::ReflectionV1(std::vector<std::string> services) : services_(std::move(services)) {
  // Touching a message of each file makes the linker keep its descriptor registration.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  (void)prover::v1::Proof::descriptor();
}

grpc::ServerBidiReactor<rv1::ServerReflectionRequest, rv1::ServerReflectionResponse>*
ReflectionV1::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new Reactor(this);
}

rv1::ServerReflectionResponse ReflectionV1::Answer(const rv1::ServerReflectionRequest& req) const {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  rv1::ServerReflectionResponse r;
  r.set_valid_host(req.host());
  *r.mutable_original_request() = req;
  std::set<std::string> seen;
  switch (req.message_request_case()) {
    case rv1::ServerReflectionRequest::kListServices:
      for (const std::string& s : services_) {
        r.mutable_list_services_response()->add_service()->set_name(s);
      }
      break;
    case rv1::ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* f = pool->FindFileByName(req.file_by_filename());
      if (f == nullptr) {
        NotFound(r, "file not found: " + req.file_by_filename().substr(0, 256));
      } else {
        AddFile(f, seen, r.mutable_file_descriptor_response());
      }
      break;
    }
    case rv1::ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* f = pool->FindFileContainingSymbol(req.file_containing_symbol());
      if (f == nullptr) {
        NotFound(r, "symbol not found: " + req.file_containing_symbol().substr(0, 256));
      } else {
        AddFile(f, seen, r.mutable_file_descriptor_response());
      }
      break;
    }
    case rv1::ServerReflectionRequest::kFileContainingExtension: {
      const auto& e = req.file_containing_extension();
      const auto* type = pool->FindMessageTypeByName(e.containing_type());
      const auto* ext =
          type == nullptr ? nullptr : pool->FindExtensionByNumber(type, e.extension_number());
      if (ext == nullptr) {
        NotFound(r, "extension not found");
      } else {
        AddFile(ext->file(), seen, r.mutable_file_descriptor_response());
      }
      break;
    }
    case rv1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const auto* type = pool->FindMessageTypeByName(req.all_extension_numbers_of_type());
      if (type == nullptr) {
        NotFound(r, "type not found: " + req.all_extension_numbers_of_type().substr(0, 256));
      } else {
        std::vector<const google::protobuf::FieldDescriptor*> exts;
        pool->FindAllExtensions(type, &exts);
        auto* out = r.mutable_all_extension_numbers_response();
        out->set_base_type_name(type->full_name());
        for (const auto* x : exts) out->add_extension_number(x->number());
      }
      break;
    }
    default:
      r.mutable_error_response()->set_error_code(int(grpc::StatusCode::INVALID_ARGUMENT));
      r.mutable_error_response()->set_error_message("message_request: none given");
  }
  return r;
}

}  // namespace prover::server
