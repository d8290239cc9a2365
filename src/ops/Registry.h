// The op registry as a table: for each layer kind, what implements it in the lowering, the
// emulator, the HLS backend and the Verilog backend (ops/OpList.h lists them, one line per kind).
#pragma once

#include "backends/hls/HlsEmit.h"
#include "backends/verilog/LayerRtl.h"
#include "emulator/KernelFactory.h"
#include "lower/Lower.h"

namespace tachyon::ops {

struct OpInfo {
    LowerFn lower;                   // the layer's quantised constants
    KernelFactory kernel;            // the emulator kernel
    hls::LayerEmitter hls;           // the layer's HLS C++
    verilog::LayerEmitter rtl;       // its netlist block in a vector design; nullptr: streamRtl only
    verilog::StreamForm streamRtl;   // how the Verilog graph builder carries it
    verilog::Legality legality;      // why the Verilog backend refuses it, or ""
};

// The registry entry of `kind`; throws tachyon::Error for a kind with no entry.
const OpInfo& opInfo(LayerKind kind);

}  // namespace tachyon::ops
