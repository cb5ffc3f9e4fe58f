// NTT kernels instantiated for the portable path.
#include "engine/field/packed_portable.h"
#include "engine/poly/ntt_kernels_impl.h"

namespace prover::ntt_internal {

const NttKernels& PortableKernels() {
  static const NttKernels kernels = MakeKernels<packed::PackedPortable>();
  return kernels;
}

}  // namespace prover::ntt_internal
