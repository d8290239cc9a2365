// The GarNet fixtures (scripts/make_garnet_fixtures.py), shared by the GarNet test suites.
#pragma once

#include "config/Config.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "../fixture_dir.h"

#include <string>

namespace test_support {

inline const std::string& garnetFixtureDir() {
    static const std::string dir = fixtureDirMadeBy("make_garnet_fixtures.py", "garnet_fixtures.stamp", "4");
    return dir;
}

// The fixture `name` through the passes under `config` (YAML; empty: the defaults).
inline tachyon::Graph loadGarNetFixture(const std::string& name, const std::string& config = "") {
    tachyon::Graph g = tachyon::loadModel(garnetFixtureDir() + "/" + name + ".json");
    tachyon::runPipeline(g, config.empty() ? tachyon::Config::defaults() : tachyon::Config::parse(config, "test-config"));
    return g;
}

inline const tachyon::Layer& garnetLayer(const tachyon::Graph& g) {
    for (const tachyon::Layer& l : g.layers)
        if (l.kind == tachyon::LayerKind::GarNet) return l;
    throw tachyon::Error("no GarNet layer in " + g.name);
}

}  // namespace test_support
