#include "ir/ReducePow.h"

#include "util/Error.h"

namespace tachyon {

MeanFactor meanFactor(const Layer& reduce, int n) {
    MeanFactor f;
    if (isPowerOfTwo(n)) {
        while ((1 << f.frac) < n) ++f.frac;
        return f;
    }
    // round(2^F / n) in the reciprocal type's mode: the exact rational 1/n, not a double.
    const FixedType& t = reduce.type("reciprocal");
    const int F = t.frac();
    if (F < 0 || F > 100)
        throw Error("layer '" + reduce.name + "': reciprocal type " + t.str() + " has no room for 1/" + std::to_string(n));
    const Int128 scaled = Int128(1) << (F + 2);   // 1/n at F + 2 fraction bits with a sticky bit
    Int128 q = scaled / n;
    const Int128 r = scaled % n;
    q = q * 2 + (r != 0 ? 1 : 0);                 // at F + 3 bits; the sticky bit keeps ties apart
    f.raw = t.castRaw(q, F + 3);
    f.frac = F;
    f.shift = false;
    if (f.raw <= 0)
        throw Error("layer '" + reduce.name + "': reciprocal type " + t.str() + " rounds 1/" + std::to_string(n) +
                    " to " + (f.raw == 0 ? "zero" : "a negative value"));
    return f;
}

FixedType exactPowerType(const FixedType& t, int k, std::string* whyNot) {
    const int w = t.width * k;
    if (w > 64) {
        if (whyNot)
            *whyNot = "the exact x^" + std::to_string(k) + " of " + t.str() + " needs " + std::to_string(w) +
                      " bits (more than 64); set the layer's accum precision";
        return t;
    }
    const int integer = t.width * k - t.frac() * k;
    return t.isSigned ? FixedType::fixed(w, integer, true) : FixedType::fixed(w, integer, false);
}

FixedType exactReduceSumType(const FixedType& t, int n) {
    int grow = 0;
    while ((1LL << grow) < n) ++grow;
    const int w = std::min(64, t.width + grow);
    return FixedType::fixed(w, w - t.frac(), t.isSigned);
}

}  // namespace tachyon
