// `tachyon trigger`: a menu's rates, efficiencies, flips, overlaps and firmware view on the
// bit-exact model and the float model side by side (docs/trigger.md).
//
// Two steps, so that samples can be scored anywhere (one process, or Dask workers through
// the Python API) and summarised in one place with identical results:
//   score:     event file -> per algorithm, the fixed and float score of every event
//   summarise: background and signal scores -> thresholds, rates, efficiencies, ...
#pragma once

#include "api/Api.h"
#include "trigger/EventFile.h"
#include "trigger/Expression.h"
#include "trigger/Firmware.h"
#include "trigger/Menu.h"
#include "trigger/ScoreColumn.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace tachyon::trigger {

// Scores of one sample: [algorithm][event]; events failing an algorithm's cuts score -inf
// (never pass), and so do NaN scores. Large samples' columns live on disk (ScoreColumn).
struct SampleScores {
    std::string name;   // "background" or the signal's name
    size_t events = 0;
    std::vector<ScoreColumn> fixed, flt;
    // Appends another file's scores of the same sample (file order is event order).
    void append(const SampleScores& more);
};

class Scorer {
public:
    // readReports: load the algorithms' measured reports (menu key `report`) now, so that a bad
    // one fails before scoring; false where only scores are wanted (a Dask worker's file).
    explicit Scorer(const Menu& menu, bool readReports = true);
    ~Scorer();
    const Menu& menu() const { return menu_; }
    const api::Model& model(size_t algorithm) const;
    // Measured resources of the algorithm's synthesised project (menu key `report`), if any.
    const std::optional<MeasuredResources>& measured(size_t algorithm) const;
    // Streams the file in blocks of blockRows rows; progress on `log` when given.
    SampleScores score(const SampleSpec& file, const std::string& sampleName, std::ostream* log = nullptr,
                       size_t blockRows = 65536, int threads = 1) const;

private:
    struct Algorithm;
    Menu menu_;
    std::vector<std::unique_ptr<Algorithm>> algos_;
};

struct StudyOptions {
    std::optional<double> targetRateHz;
    std::optional<int> bunches;          // overrides the menu's; default 2,544
    bool flat40 = false;                 // 40 MHz of crossings instead of bunches x 11,245.6 Hz
    std::optional<double> latencyBudgetNs;
    std::string device = "VU9P";
    std::string backend = "hls";         // the firmware view: hls or verilog
};

// Everything `summary.json` holds, plus the tables behind the plots and the flipped events.
struct StudyResult {
    api::Json summary;
    api::Json plotData;
    std::vector<std::string> flipFiles;   // names under the output folder
    std::vector<std::string> flipText;    // their CSV text, same order
};

StudyResult summarise(const Scorer& scorer, const SampleScores& background, const std::vector<SampleScores>& signals,
                      const StudyOptions& opt);

// Writes DIR/summary.json, DIR/plot_data.json, DIR/flips_<algorithm>.csv and the PNGs
// (through python/tachyon/plotting.py; a warning and no PNGs without matplotlib) into a
// temporary folder renamed to `dir` at the end. Returns the files written.
std::vector<std::string> writeStudy(const StudyResult& r, const std::string& dir, const std::vector<std::string>& inputs,
                                    bool force, bool plots, std::ostream& log);

// Runs python/tachyon/trigger.py MODE DATA_JSON DIR (matplotlib) without a shell; false
// (with the script's output in `output`) when Python, matplotlib or the script fails.
bool drawPlots(const std::string& mode, const std::string& dataJson, const std::string& dir, std::string& output);

}  // namespace tachyon::trigger
