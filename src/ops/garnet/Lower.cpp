// GarNet constants (docs/semantics.md, "GarNet"): per sublayer the input transform,
// aggregator distance and output transform weights and biases as raws of their types; the
// exp(-d^2) table indexed by the distance's bits; the `norm` factors of the mean. What
// hls4ml's GarNet arithmetic cannot reproduce, or these 64-bit raws cannot hold, is refused
// here, before any kernel or writer reads the layer.
#include "lower/Lower.h"

#include "emulator/Cast.h"
#include "lower/GarNetNorm.h"
#include "util/Error.h"

#include <cmath>

namespace tachyon {

LayerConstants lowerGarNet(const Graph&, const Layer& l, const std::vector<LoweredInput>& ins) {
    const GarNetAttrs& a = l.as<GarNetAttrs>();
    const auto fail = [&](const std::string& why) {
        throw Error("layer '" + l.name + "' (" + hlsClassName(l) + "): fixed point: " + why);
    };
    // hls4ml's GarNet HLS collapses by the mean or not at all; a mean with
    // mean_by_nvert divides by n there but by 1 in Keras: only Compatibility: hls4ml
    // says which (hls4ml's).
    if (a.collapse == "sum" || a.collapse == "max")
        fail("collapse '" + a.collapse + "' is not supported (hls4ml's GarNet has mean or none); run it in float mode");
    if (a.collapse == "mean" && a.meanByNvert && !a.hls4mlCount)
        fail("collapse 'mean' with mean_by_nvert is not supported (Keras divides the sum by 1, hls4ml by the "
             "vertex count); run it in float mode, or under Compatibility: hls4ml for hls4ml's numbers");
    const bool hls4mlNorm = garnetHls4mlNorm(a);
    const int normShift = garnetNormShift(a);
    // hls4ml splits the vertex loop into ReuseFactor parts, each shifted on its own; its
    // mean_by_nvert quotient is then (V / ReuseFactor) / n. Reproduced at ReuseFactor 1.
    if (hls4mlNorm && l.schedule.reuseFactor != 1)
        fail("mean_by_nvert under Compatibility: hls4ml is reproduced at ReuseFactor 1 only (hls4ml shifts each "
             "of its ReuseFactor partial vertex sums on its own), not at " + std::to_string(l.schedule.reuseFactor));
    for (const char* v : {"distance", "edge_weight", "edge_weight_aggr", "aggr", "norm", "input_transform_weights",
                          "input_transform_biases", "aggregator_distance_weights", "aggregator_distance_biases",
                          "output_transform_biases", "result"})
        if (!l.hasType(v)) fail(std::string("no ") + v + " precision");
    const FixedType& distT = l.type("distance");
    const FixedType& edgeT = l.type("edge_weight");
    const FixedType& edgeSumT = l.type("edge_weight_aggr");
    const FixedType& aggrT = l.type("aggr");
    const FixedType& normT = l.type("norm");
    const FixedType& itwT = l.type("input_transform_weights");
    const FixedType& itbT = l.type("input_transform_biases");
    const FixedType& adwT = l.type("aggregator_distance_weights");
    const FixedType& adbT = l.type("aggregator_distance_biases");
    const FixedType& otbT = l.type("output_transform_biases");
    if (distT.width > 20) fail("the distance type " + distT.str() + " indexes a 2^width table: at most 20 bits");
    for (const FixedType* t : {&distT, &edgeT, &edgeSumT, &aggrT, &normT, &l.type("result"), &itwT, &itbT, &adwT, &adbT,
                               &otbT, &ins.at(0).type, &ins.at(1).type})
        if (t->width > 48) fail("the GarNet types are limited to 48 bits (" + t->str() + ")");

    LayerConstants k;
    GarNetConstants& c = k.garnet;
    for (const GarNetSublayerWeights& w : garnetSublayerWeights(l))
        c.sublayers.push_back({quantizeAll(w.inputTransformWeights, itwT), quantizeAll(w.inputTransformBiases, itbT),
                               quantizeAll(w.aggregatorDistanceWeights, adwT), quantizeAll(w.aggregatorDistanceBiases, adbT),
                               quantizeAll(w.outputTransformBiases, otbT)});
    // Entry i: the distance whose bits are i. Entry 0 (d = 0, exp = 1) is hls4ml's
    // saturated 1 of an edge_weight-wide fraction, 1 - 2^-width, so that the default
    // ap_ufixed<10,0> does not wrap it to 0.
    const int64_t size = int64_t(1) << distT.width;
    c.edgeWeightTable.resize(size_t(size));
    for (int64_t i = 0; i < size; ++i) {
        const int64_t raw = distT.isSigned && i >= size / 2 ? i - size : i;
        const double d = std::ldexp(double(raw), -distT.frac());
        c.edgeWeightTable[size_t(i)] = i == 0 ? int64_t(edgeT.castRaw((Int128(1) << edgeT.width) - 1, edgeT.width))
                                              : int64_t(edgeT.castDouble(std::exp(-d * d)));
    }
    if (hls4mlNorm) {
        // hls4ml: (sum >> floor(log2 V)) * norm_t(trunc(V / n)); the table holds the
        // quotients of the counts 0..V (other counts: the kernel's quotient per row).
        const int f = ins.at(1).type.frac();
        if (edgeSumT.width <= normShift || aggrT.width <= normShift)
            fail("hls4ml's mean_by_nvert shifts the vertex sums right by " + std::to_string(normShift) +
                 " bits: edge_weight_aggr and aggr need more bits than that");
        if (f < 0 || f + normShift > 60)
            fail("hls4ml's count quotient V / count needs a count type with 0 to " + std::to_string(60 - normShift) +
                 " fractional bits, not " + ins.at(1).type.str());
        c.norm.assign(size_t(a.nVertices + 1), 0);
        for (int n = 1; n <= a.nVertices; ++n) c.norm[size_t(n)] = int64_t(normT.castRaw(a.nVertices / n, 0));
    } else if (a.meanByNvert) {
        c.norm.assign(size_t(a.nVertices + 1), 0);
        for (int n = 1; n <= a.nVertices; ++n) c.norm[size_t(n)] = int64_t(castRational(normT, 1, 0, n));
    } else {
        c.norm = {int64_t(castRational(normT, 1, 0, a.nVertices))};
    }
    return k;
}

}  // namespace tachyon
