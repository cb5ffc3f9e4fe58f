// NTT kernels instantiated for the avx2 path (compiled with its ISA flags; reached only through
// KernelsFor()).
#include "engine/field/packed_avx2.h"
#include "engine/poly/ntt_kernels_impl.h"

namespace prover::ntt_internal {

const NttKernels& Avx2Kernels() {
  static const NttKernels kernels = MakeKernels<packed::PackedAvx2>();
  return kernels;
}

}  // namespace prover::ntt_internal
