// grpc.reflection.v1: what a generic client (grpcurl, Postman, ...) asks to discover the
// API. gRPC 1.51's plugin serves only v1alpha; this is the same answers under the v1 name,
// from the protobuf descriptors linked into proverd (DescriptorPool::generated_pool): the
// service list given at construction, files by name or by a symbol they define (any message
// of the API, prover.v1.Proof included), and extensions. A file comes with every file it
// depends on. One response per request, in order; cheap, so answered on the callback thread.
#pragma once

#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace prover::server {

class ReflectionV1 final : public grpc::reflection::v1::ServerReflection::CallbackService {
 public:
  // Also links the descriptors of every file the API serves (health and the proof format
  // are not reachable from the Prover service's own file).
  explicit ReflectionV1(std::vector<std::string> services);

  grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* ctx) override;

  // The answer to one request (public for tests).
  grpc::reflection::v1::ServerReflectionResponse Answer(
      const grpc::reflection::v1::ServerReflectionRequest& request) const;

 private:
  std::vector<std::string> services_;
};

}  // namespace prover::server
