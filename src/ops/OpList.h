// The op registry: one line per layer kind, naming what implements it in each part of the
// pipeline. Adding an op is its folder (src/ops/<op>/: kernel, HLS, RTL) plus one line here
// (docs/ir.md, "Adding an op").
//
// An X-macro list: each reader defines TACHYON_OP(kind, kernel, hls, rtl, streamRtl, legality)
// and includes this file. The emulator (emulator/Emulator.cpp, library tachyon_core) reads only
// the kernel column; the backends' OpInfo table (ops/Registry.cpp, library tachyon_backends)
// reads every column. One list, two readers: the emulator never links against the backends.
//
//   kernel    : emulator kernel factory, emulator/Kernel.h (KernelFactory)
//   hls       : HLS C++ of the layer, backends/hls/HlsEmit.h (hls::LayerEmitter)
//   rtl       : netlist block of the layer in a vector design, backends/verilog/LayerRtl.h
//               (verilog::LayerEmitter); nullptr: only the stream builder places it
//   streamRtl : how the Verilog graph builder carries the layer (verilog::StreamForm)
//   legality  : why the Verilog backend refuses the layer, or "" (verilog::Legality)
//
// No include guard: read once per definition of TACHYON_OP.

//         kind          kernel                                hls                                 rtl                           streamRtl                 legality
TACHYON_OP(Input,        layerKernel<makeMovementKernel>,      hls::inputLayer,                    verilog::castRtl,             StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(Dense,        macKernel,                            hls::withParams<hls::emitMac>,      verilog::denseRtl,            StreamForm::Elementwise,  verilog::macLegality)
TACHYON_OP(Conv,         macKernel,                            hls::withParams<hls::emitMac>,      nullptr,                      StreamForm::Conv,         verilog::macLegality)
TACHYON_OP(Pooling,      layerKernel<makePoolingKernel>,       hls::withParams<hls::emitPooling>,  nullptr,                      StreamForm::Pool,         verilog::poolingLegality)
TACHYON_OP(BatchNorm,    layerKernel<makeBatchNormKernel>,     hls::withParams<hls::emitBatchNorm>, verilog::batchNormRtl,       StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(Activation,   layerKernel<makeActivationKernel>,    hls::withParams<hls::emitActivation>, verilog::activationRtl,     StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(Softmax,      layerKernel<makeSoftmaxKernel>,       hls::withParams<hls::emitSoftmax>,  verilog::softmaxRtl,          StreamForm::Elementwise,  verilog::softmaxLegality)
TACHYON_OP(Reshape,      layerKernel<makeMovementKernel>,      hls::withParams<hls::emitMovement>, verilog::castRtl,             StreamForm::Movement,     verilog::alwaysBuilt)
TACHYON_OP(Transpose,    layerKernel<makeMovementKernel>,      hls::withParams<hls::emitMovement>, nullptr,                      StreamForm::Movement,     verilog::alwaysBuilt)
TACHYON_OP(Pad,          layerKernel<makeMovementKernel>,      hls::withParams<hls::emitMovement>, nullptr,                      StreamForm::Pad,          verilog::alwaysBuilt)
TACHYON_OP(Resize,       layerKernel<makeMovementKernel>,      hls::withParams<hls::emitMovement>, nullptr,                      StreamForm::Resize,       verilog::alwaysBuilt)
TACHYON_OP(Merge,        layerKernel<makeMergeKernel>,         hls::withParams<hls::emitMultiInput>, nullptr,                    StreamForm::Merge,        verilog::alwaysBuilt)
TACHYON_OP(Concatenate,  layerKernel<makeMovementKernel>,      hls::withParams<hls::emitMultiInput>, nullptr,                    StreamForm::Merge,        verilog::alwaysBuilt)
TACHYON_OP(Recurrent,    layerKernel<makeRecurrentKernel>,     hls::withParams<hls::emitRecurrent>, verilog::recurrentRtl,       StreamForm::Sequence,     verilog::alwaysBuilt)
TACHYON_OP(GarNet,       layerKernel<makeGarNetKernel>,        hls::emitGarNetLayer,               nullptr,                      StreamForm::GarNet,       verilog::alwaysBuilt)
TACHYON_OP(Quantize,     layerKernel<makeQuantizeKernel>,      hls::withParams<hls::emitQuantize>, verilog::quantizeLayerRtl,    StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(MatMul,       layerKernel<makeMatMulKernel>,        hls::emitAttentionNominal,          nullptr,                      StreamForm::MatMul,       verilog::alwaysBuilt)
TACHYON_OP(LayerNorm,    layerKernel<makeLayerNormKernel>,     hls::emitAttentionNominal,          verilog::layerNormRtl,        StreamForm::Elementwise,  verilog::alwaysBuilt)
TACHYON_OP(TreeEnsemble, layerKernel<makeTreeEnsembleKernel>,  hls::emitTreeEnsemble,              verilog::treeEnsembleLayerRtl, StreamForm::Elementwise, verilog::alwaysBuilt)
TACHYON_OP(Reduce,       layerKernel<makeReduceKernel>,        hls::withParams<hls::emitReduce>,   nullptr,                      StreamForm::Reduce,       verilog::alwaysBuilt)
TACHYON_OP(Pow,          layerKernel<makePowKernel>,           hls::withParams<hls::emitPow>,      verilog::powLayerRtl,         StreamForm::Elementwise,  verilog::alwaysBuilt)
