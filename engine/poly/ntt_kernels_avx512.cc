// NTT kernels instantiated for the avx512 path (compiled with its ISA flags; reached only through
// KernelsFor()).
#include "engine/field/packed_avx512.h"
#include "engine/poly/ntt_kernels_impl.h"

namespace prover::ntt_internal {

const NttKernels& Avx512Kernels() {
  static const NttKernels kernels = MakeKernels<packed::PackedAvx512>();
  return kernels;
}

}  // namespace prover::ntt_internal
