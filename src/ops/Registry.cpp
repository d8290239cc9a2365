// The OpInfo table, built from the one list of ops (ops/OpList.h).
#include "ops/Registry.h"

#include "ops/activation/Rtl.h"
#include "ops/attention/Rtl.h"
#include "ops/batchnorm/Rtl.h"
#include "ops/mac/Rtl.h"
#include "ops/pooling/Rtl.h"
#include "ops/quantize/Rtl.h"
#include "ops/recurrent/Rtl.h"
#include "ops/reduce_pow/Rtl.h"
#include "ops/softmax/Rtl.h"
#include "ops/trees/Rtl.h"
#include "emulator/Kernel.h"
#include "util/Error.h"

namespace tachyon::ops {

using verilog::StreamForm;

const OpInfo& opInfo(LayerKind kind) {
    // A switch, so that -Wswitch names a layer kind the list forgets.
    switch (kind) {
#define TACHYON_OP(name, lower, kernel, hls, rtl, streamRtl, legality)             \
    case LayerKind::name: {                                                        \
        static const OpInfo info{lower, kernel, hls, rtl, streamRtl, legality};    \
        return info;                                                        \
    }
#include "ops/OpList.h"
#undef TACHYON_OP
    }
    throw Error("layer kind " + std::to_string(int(kind)) + " has no entry in the op registry (ops/OpList.h)");
}

}  // namespace tachyon::ops
