// Row kernels instantiated for the avx2 path (compiled with its ISA flags; reached only
// through RowKernelsFor()).
#include "engine/backend/cpu/row_kernels_impl.h"
#include "engine/field/packed_avx2.h"

namespace prover::backend::cpu {

const RowKernels& Avx2RowKernels() {
  static const RowKernels kernels = row_internal::MakeRowKernels<packed::PackedAvx2>();
  return kernels;
}

}  // namespace prover::backend::cpu
