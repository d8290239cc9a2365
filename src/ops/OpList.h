// The op registry: one line per layer kind, naming what implements it in each part of the
// pipeline. Adding an op is its folder (src/ops/<op>/: kernel, HLS, RTL) plus one line here
// (docs/ir.md, "Adding an op").
//
// An X-macro list: each reader defines TACHYON_OP(kind, lower, kernel, hls, rtl, streamRtl,
// legality) and includes this file. The lowering (lower/Lower.cpp) reads the lower column and
// the emulator (emulator/Emulator.cpp) the kernel column, both in library tachyon_core; the
// backends' OpInfo table (ops/Registry.cpp, library tachyon_backends) reads every column. One
// list, several readers: the emulator never links against the backends.
//
//   lower     : the layer's quantised constants, lower/Lower.h (LowerFn), src/ops/<op>/Lower.cpp
//   kernel    : emulator kernel factory, emulator/Kernel.h (KernelFactory)
//   hls       : HLS C++ of the layer, backends/hls/HlsEmit.h (hls::LayerEmitter)
//   rtl       : netlist block of the layer in a vector design, backends/verilog/LayerRtl.h
//               (verilog::LayerEmitter); nullptr: only the stream builder places it
//   streamRtl : how the Verilog graph builder carries the layer (verilog::StreamForm)
//   legality  : why the Verilog backend refuses the layer, or "" (verilog::Legality)
//
// No include guard: read once per definition of TACHYON_OP.

//         kind          lower            kernel                       hls                                 rtl                           streamRtl                 legality
TACHYON_OP(Input,        lowerNothing,    makeMovementKernel,          hls::inputLayer,                    verilog::castRtl,             StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(Dense,        lowerMac,        makeMacKernel,               hls::withParams<hls::emitMac>,      verilog::denseRtl,            StreamForm::Elementwise,  verilog::macLegality)
TACHYON_OP(Conv,         lowerMac,        makeMacKernel,               hls::withParams<hls::emitMac>,      nullptr,                      StreamForm::Conv,         verilog::macLegality)
TACHYON_OP(Pooling,      lowerPooling,    makePoolingKernel,           hls::withParams<hls::emitPooling>,  nullptr,                      StreamForm::Pool,         verilog::poolingLegality)
TACHYON_OP(BatchNorm,    lowerBatchNorm,  makeBatchNormKernel,         hls::withParams<hls::emitBatchNorm>, verilog::batchNormRtl,       StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(Activation,   lowerActivation, makeActivationKernel,        hls::withParams<hls::emitActivation>, verilog::activationRtl,     StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(Softmax,      lowerSoftmax,    makeSoftmaxKernel,           hls::withParams<hls::emitSoftmax>,  verilog::softmaxRtl,          StreamForm::Elementwise,  verilog::softmaxLegality)
TACHYON_OP(Reshape,      lowerNothing,    makeMovementKernel,          hls::withParams<hls::emitMovement>, verilog::castRtl,             StreamForm::Movement,     verilog::alwaysBuilt)
TACHYON_OP(Transpose,    lowerNothing,    makeMovementKernel,          hls::withParams<hls::emitMovement>, nullptr,                      StreamForm::Movement,     verilog::alwaysBuilt)
TACHYON_OP(Pad,          lowerNothing,    makeMovementKernel,          hls::withParams<hls::emitMovement>, nullptr,                      StreamForm::Pad,          verilog::alwaysBuilt)
TACHYON_OP(Resize,       lowerNothing,    makeMovementKernel,          hls::withParams<hls::emitMovement>, nullptr,                      StreamForm::Resize,       verilog::alwaysBuilt)
TACHYON_OP(Merge,        lowerNothing,    makeMergeKernel,             hls::withParams<hls::emitMultiInput>, nullptr,                    StreamForm::Merge,        verilog::alwaysBuilt)
TACHYON_OP(Concatenate,  lowerNothing,    makeMovementKernel,          hls::withParams<hls::emitMultiInput>, nullptr,                    StreamForm::Merge,        verilog::alwaysBuilt)
TACHYON_OP(Recurrent,    lowerRecurrent,  makeRecurrentKernel,         hls::withParams<hls::emitRecurrent>, verilog::recurrentRtl,       StreamForm::Sequence,     verilog::alwaysBuilt)
TACHYON_OP(GarNet,       lowerGarNet,     makeGarNetKernel,            hls::emitGarNetLayer,               nullptr,                      StreamForm::GarNet,       verilog::alwaysBuilt)
TACHYON_OP(Quantize,     lowerNothing,    makeQuantizeKernel,          hls::withParams<hls::emitQuantize>, verilog::quantizeLayerRtl,    StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(MatMul,       lowerNothing,    makeMatMulKernel,            hls::emitAttentionNominal,          nullptr,                      StreamForm::MatMul,       verilog::alwaysBuilt)
TACHYON_OP(LayerNorm,    lowerLayerNorm,  makeLayerNormKernel,         hls::emitAttentionNominal,          verilog::layerNormRtl,        StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(TreeEnsemble, lowerNothing,    makeTreeEnsembleKernel,      hls::emitTreeEnsemble,              verilog::treeEnsembleLayerRtl, StreamForm::Elementwise, verilog::alwaysBuilt)
TACHYON_OP(Reduce,       lowerNothing,    makeReduceKernel,            hls::withParams<hls::emitReduce>,   nullptr,                      StreamForm::Reduce,       verilog::alwaysBuilt)
TACHYON_OP(Pow,          lowerNothing,    makePowKernel,               hls::withParams<hls::emitPow>,      verilog::powLayerRtl,         StreamForm::Elementwise,  verilog::alwaysBuilt)
