// Row kernels instantiated for the avx512 path (compiled with its ISA flags; reached only
// through RowKernelsFor()).
#include "engine/backend/cpu/row_kernels_impl.h"
#include "engine/field/packed_avx512.h"

namespace prover::backend::cpu {

const RowKernels& Avx512RowKernels() {
  static const RowKernels kernels = row_internal::MakeRowKernels<packed::PackedAvx512>();
  return kernels;
}

}  // namespace prover::backend::cpu
