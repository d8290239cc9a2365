// ap_fixed / ap_ufixed for C simulation without vendor tools: everything lives in ap_int.h
// (ap_int<W> is the fixed-point type with I == W), see there for the semantics.
#ifndef TACHYON_AP_FIXED_H
#define TACHYON_AP_FIXED_H
#include "ap_int.h"
#endif
