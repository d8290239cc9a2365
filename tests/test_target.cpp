// The typed target (ir/Target.h): the configuration maps hls4ml's project keys onto it, the
// graph carries it from the passes to the backends.
#include "config/Config.h"
#include "ir/Target.h"
#include "util/Error.h"

#include <gtest/gtest.h>

using namespace tachyon;

TEST(Target, ConfigMapsHls4mlSpellingsOntoTypedFields) {
    const Config cfg = Config::parse("IOType: io_stream\nClockPeriod: 3.125\nClockUncertainty: 12.5%\n"
                                     "Part: xcku115-flvb2104-2-i\nBackend: Vitis\n",
                                     "target.yml");
    const Target t = cfg.target();
    EXPECT_EQ(t.io, IoType::Stream);
    EXPECT_TRUE(t.streaming());
    EXPECT_EQ(t.part, "xcku115-flvb2104-2-i");
    EXPECT_DOUBLE_EQ(t.clockPeriodNs, 3.125);
    EXPECT_EQ(t.clockUncertainty, "12.5%");
    EXPECT_DOUBLE_EQ(t.clockUncertaintyNs(), 0.125 * 3.125);
    EXPECT_EQ(t.backend, "Vitis");
    EXPECT_EQ(toString(t.io), "io_stream");
}

TEST(Target, DefaultsAreParallelWithoutUncertainty) {
    const Target t = Config::parse("Model:\n  Precision: ap_fixed<8,3>\n", "defaults.yml").target();
    EXPECT_EQ(t.io, IoType::Parallel);
    EXPECT_EQ(toString(t.io), "io_parallel");
    EXPECT_DOUBLE_EQ(t.clockPeriodNs, 5.0);
    EXPECT_DOUBLE_EQ(t.clockUncertaintyNs(), 0.0);
}

TEST(Target, UncertaintyInNanoseconds) {
    const Target t = Config::parse("ClockPeriod: 4\nClockUncertainty: 0.5\n", "ns.yml").target();
    EXPECT_DOUBLE_EQ(t.clockUncertaintyNs(), 0.5);
}

TEST(Target, UnknownIoTypeIsRefusedWhereItIsRead) {
    // The only io types a backend can be given are the enum's: the configuration refuses others.
    EXPECT_THROW(Config::parse("IOType: io_serial\n", "serial.yml"), Error);
}
