// Row kernels instantiated for the portable path.
#include "engine/backend/cpu/row_kernels_impl.h"
#include "engine/field/packed_portable.h"

namespace prover::backend::cpu {

const RowKernels& PortableRowKernels() {
  static const RowKernels kernels = row_internal::MakeRowKernels<packed::PackedPortable>();
  return kernels;
}

const RowKernels& RowKernelsFor(SimdLevel level) {
  return SelectKernels<RowKernels>(level, &PortableRowKernels, PROVER_AVX2_KERNELS(Avx2RowKernels),
                                   PROVER_AVX512_KERNELS(Avx512RowKernels));
}
}  // namespace prover::backend::cpu
