// Hardening of the command line: Tachyon never deletes or overwrites a user's files,
// outputs are atomic (also on a signal or a full disk), and malformed input gives a
// clear error instead of a crash, a hang or a huge allocation.
// Every test runs in a throwaway folder of its own.
#include "support/cli.h"
#include "frontends/Hdf5File.h"
#include "util/AtomicOutput.h"
#include "util/CrashIsolation.h"
#include "util/Error.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <hdf5.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <set>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

using test_support::CliResult;
using test_support::runCliIn;

namespace {

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Every entry below `dir` (relative names), to compare a folder before and after.
std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(dir)) out.insert(fs::relative(e.path(), dir).string());
    return out;
}

bool hasTemporaries(const fs::path& dir) {
    for (auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().rfind(".tmp-", 0) == 0) return true;
    return false;
}

// A folder with the example model (m.onnx), its input rows (x.npy) and a config (c.yml).
class Hardening : public ::testing::Test {
protected:
    fs::path dir;
    void SetUp() override {
        const fs::path example = fs::path(TACHYON_BINARY_DIR) / "cli_test";
        if (!fs::exists(example / "jet_tagger.onnx")) {
            const std::string cmd = "/usr/bin/python3 " TACHYON_SOURCE_DIR "/examples/make_jet_tagger.py " +
                                    example.string() + " > /dev/null";
            ASSERT_EQ(std::system(cmd.c_str()), 0);
        }
        dir = fs::path(TACHYON_BINARY_DIR) / "hardening_test" /
              ::testing::UnitTest::GetInstance()->current_test_info()->name();
        fs::remove_all(dir);
        fs::create_directories(dir);
        fs::copy_file(example / "jet_tagger.onnx", dir / "m.onnx");
        fs::copy_file(example / "jet_tagger_X.npy", dir / "x.npy");
        fs::copy_file(TACHYON_SOURCE_DIR "/examples/jet_tagger.yml", dir / "c.yml");
    }
    // `args` fails with exit 1 and a message holding `needle`, and changes nothing in `dir`.
    void expectRefused(const std::string& args, const std::string& needle) {
        const auto before = listing(dir);
        const std::string model = slurp(dir / "m.onnx");
        CliResult r = runCliIn(dir, args);
        EXPECT_EQ(r.status, 1) << args << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, "tachyon: error: ")) << r.output;
        EXPECT_TRUE(contains(r.output, needle)) << args << "\n" << r.output;
        ASSERT_TRUE(fs::exists(dir)) << args << " deleted the working folder";
        EXPECT_EQ(listing(dir), before) << args;
        EXPECT_EQ(slurp(dir / "m.onnx"), model) << args;
    }
};

}  // namespace

// --- Data loss -----------------------------------------------------------------------

TEST_F(Hardening, OutputDotOrAboveNeverDeletesTheCurrentFolder) {
    expectRefused("convert m.onnx -o .", "current folder");
    expectRefused("convert m.onnx -o . --force", "current folder");
    expectRefused("convert m.onnx -o ./", "current folder");
    expectRefused("convert m.onnx -o ..", "current folder");
    expectRefused("convert m.onnx -o /", "root folder");
    expectRefused("predict m.onnx -i x.npy -o .", "give a file name");
    expectRefused("predict m.onnx -i x.npy -o y.npy --trace .", "current folder");
    expectRefused("predict m.onnx -i x.npy -o y.npy --trace " + dir.string(), "current folder");
}

TEST_F(Hardening, TrailingSlashNeverDeletesAnExistingFolder) {
    fs::create_directories(dir / "d");
    std::ofstream(dir / "d" / "keep.txt") << "mine";
    expectRefused("convert m.onnx -o d/", "Tachyon did not write");
    expectRefused("convert m.onnx -o d/ --force", "Tachyon did not write");
    expectRefused("convert m.onnx -o d", "Tachyon did not write");
    expectRefused("predict m.onnx -i x.npy -o d/", "give a file name");
    expectRefused("predict m.onnx -i x.npy -o d --force", "existing folder");
    expectRefused("predict m.onnx -i x.npy -o y.npy --trace d/", "Tachyon did not write");
    EXPECT_EQ(slurp(dir / "d" / "keep.txt"), "mine");
}

TEST_F(Hardening, OutputEqualToAnInputIsAlwaysRefused) {
    expectRefused("convert m.onnx -o m.onnx", "is also the model");
    expectRefused("convert m.onnx -o m.onnx --force", "is also the model");
    expectRefused("convert m.onnx -c c.yml -o c.yml --force", "is also the configuration");
    expectRefused("predict m.onnx -i x.npy -o x.npy --force", "is also the input");
    expectRefused("predict m.onnx -i x.npy -o ./m.onnx --force", "is also the model");
    expectRefused("predict m.onnx -i x.npy -o y.npy --trace y.npy", "is also the output");
    expectRefused("config m.onnx -o m.onnx --force", "is also the model");
    // Through a symbolic link, too.
    fs::create_symlink("m.onnx", dir / "link.onnx");
    expectRefused("predict m.onnx -i x.npy -o link.onnx --force", "is also the model");
    // A folder that holds an input, even one that looks like a Tachyon project.
    fs::create_directories(dir / "sub");
    fs::copy_file(dir / "m.onnx", dir / "sub" / "m.onnx");
    std::ofstream(dir / "sub" / "tachyon_project.json") << "{}";
    expectRefused("convert sub/m.onnx -o sub", "holds the model");
}

TEST_F(Hardening, ExistingFileIsOverwrittenOnlyWithForce) {
    std::ofstream(dir / "y.npy") << "precious";
    expectRefused("predict m.onnx -i x.npy -o y.npy", "--force");
    std::ofstream(dir / "cfg.yml") << "precious";
    expectRefused("config m.onnx -o cfg.yml", "--force");
    std::ofstream(dir / "prj") << "precious";
    expectRefused("convert m.onnx -o prj", "--force");

    CliResult r = runCliIn(dir, "predict m.onnx -i x.npy -o y.npy --force");
    ASSERT_EQ(r.status, 0) << r.output;
    size_t rows, cols;
    tachyon::readNpy((dir / "y.npy").string(), rows, cols);
    EXPECT_EQ(rows, 1000u);
    r = runCliIn(dir, "convert m.onnx -o prj --force");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(fs::exists(dir / "prj" / "tachyon_project.json"));
}

TEST_F(Hardening, TachyonProjectAndTraceFoldersAreReplacedOnlyWithForce) {
    CliResult r = runCliIn(dir, "convert m.onnx -o prj");
    ASSERT_EQ(r.status, 0) << r.output;
    std::ofstream(dir / "prj" / "stale.txt") << "old";
    expectRefused("convert m.onnx -o prj/ --backend verilog", "--force");
    r = runCliIn(dir, "convert m.onnx -o prj/ --backend verilog --force");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(fs::exists(dir / "prj" / "stale.txt"));
    EXPECT_TRUE(fs::exists(dir / "prj" / "tachyon_project.json"));

    r = runCliIn(dir, "predict m.onnx -i x.npy -o y1.npy --trace tr");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(fs::exists(dir / "tr" / "tachyon_trace.json"));
    expectRefused("predict m.onnx -i x.npy -o y2.npy --trace tr", "--force");
    r = runCliIn(dir, "predict m.onnx -i x.npy -o y2.npy --trace tr --force");
    ASSERT_EQ(r.status, 0) << r.output;
    // A project folder is no trace folder, and the other way round.
    expectRefused("predict m.onnx -i x.npy -o y3.npy --trace prj --force", "tachyon_trace.json");
    expectRefused("convert m.onnx -o tr --force", "tachyon_project.json");
    EXPECT_FALSE(hasTemporaries(dir));
}

TEST_F(Hardening, MissingParentFolderIsAnError) {
    expectRefused("predict m.onnx -i x.npy -o nowhere/y.npy", "does not exist");
    expectRefused("convert m.onnx -o nowhere/prj", "does not exist");
}

// --- Atomic outputs ------------------------------------------------------------------

TEST_F(Hardening, SignalDuringPredictLeavesNoTemporaries) {
    // The input is a FIFO: predict reads its header, creates its temporaries, then waits
    // for rows that only come when the test sends them, so the signal lands mid-run.
    for (int sig : {SIGTERM, SIGINT}) {
        const fs::path fifo = dir / "rows.npy";
        fs::remove(fifo);
        ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            if (chdir(dir.c_str()) != 0) _exit(99);
            const int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execl(TACHYON_CLI, "tachyon", "predict", "m.onnx", "-i", "rows.npy", "-o", "y.npy", "--trace", "tr",
                  (char*)nullptr);
            _exit(98);
        }
        // A header announcing 1,000,000 rows of 16 float64, then 10 rows only.
        std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 16), }";
        header += std::string(118 - header.size(), ' ') + "\n";
        std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + '\0' + header;
        bytes += std::string(10 * 16 * 8, '\0');
        const int fd = open(fifo.c_str(), O_WRONLY);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
        // Wait until both temporaries exist.
        bool started = false;
        for (int i = 0; i < 500 && !started; ++i) {
            int n = 0;
            for (auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().rfind(".tmp-", 0) == 0;
            started = n == 2;
            if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_TRUE(started) << "predict never created its temporaries";
        kill(pid, sig);
        int st = 0;
        waitpid(pid, &st, 0);
        close(fd);
        EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == sig) << "status " << st;
        EXPECT_FALSE(hasTemporaries(dir)) << "signal " << sig;
        EXPECT_FALSE(fs::exists(dir / "y.npy"));
        EXPECT_FALSE(fs::exists(dir / "tr"));
    }
}

TEST_F(Hardening, FullDiskFailsAndLeavesNoPartialFile) {
    // A 64 KiB tmpfs: 1000 rows x 5 columns of CSV at 17 digits do not fit.
    const fs::path small = dir / "small";
    fs::create_directories(small);
    if (mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k") != 0)
        GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
    struct Unmount {
        fs::path p;
        ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
    } unmount{small};
    for (const char* out : {"small/y.csv", "small/y.npy"}) {
        // Fill most of the disk first so that the .npy (40 KB) does not fit either.
        std::ofstream(small / "filler") << std::string(40 * 1024, 'x');
        CliResult r = runCliIn(dir, std::string("predict m.onnx -i x.npy -o ") + out + " --trace small/tr");
        EXPECT_EQ(r.status, 1) << out << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, "tachyon: error: ")) << r.output;
        EXPECT_FALSE(contains(r.output, ".tmp-")) << "the message names a temporary: " << r.output;
        EXPECT_FALSE(fs::exists(dir / out)) << out;
        EXPECT_FALSE(hasTemporaries(small)) << out;
        fs::remove(small / "filler");
    }
    // And the config writer.
    std::ofstream(small / "filler") << std::string(62 * 1024, 'x');
    CliResult r = runCliIn(dir, "config m.onnx -o small/c.yml");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_FALSE(fs::exists(small / "c.yml"));
    EXPECT_FALSE(hasTemporaries(small));
    // A project: the message names the output and the cause, not a bundled header.
    r = runCliIn(dir, "convert m.onnx -o small/prj");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "small/prj: -o: disk full")) << r.output;
    EXPECT_FALSE(contains(r.output, ".tmp-")) << r.output;
    EXPECT_FALSE(fs::exists(small / "prj"));
    EXPECT_FALSE(hasTemporaries(small));
}

TEST(HardeningAtomicOutput, ErrorsNameTheUsersPathNotTheTemporary) {
    const fs::path d = fs::path(TACHYON_BINARY_DIR) / "hardening_test" / "names";
    fs::remove_all(d);
    fs::create_directories(d);
    std::string msg;
    {
        tachyon::AtomicOutput out((d / "prj").string(), "-o", tachyon::OutputKind::Project, {});
        msg = out.tmp().string() + "/firmware/x.h: cannot write file";
    }
    const std::string shown = tachyon::userFacing(msg);
    EXPECT_FALSE(contains(shown, ".tmp-")) << shown;
    EXPECT_TRUE(contains(shown, (d / "prj").string() + "/firmware/x.h")) << shown;
}

TEST_F(Hardening, ProjectNameCannotLeaveTheProjectFolder) {
    std::ofstream(dir / "evil.yml") << "ProjectName: ../../evil\n";
    expectRefused("convert m.onnx -c evil.yml -o prj", "ProjectName");
    expectRefused("convert m.onnx -c evil.yml -o prj --backend verilog", "ProjectName");
    EXPECT_FALSE(fs::exists(dir.parent_path() / "evil.v"));
    EXPECT_FALSE(fs::exists(dir.parent_path().parent_path() / "evil.v"));
    // Tree ensembles: their configuration refuses it too.
    const std::string trees = std::string(TACHYON_BINARY_DIR) + "/fixtures/xgb_small4.json";
    if (fs::exists(trees)) {
        fs::copy_file(trees, dir / "t.json");
        expectRefused("convert t.json -c evil.yml -o prj", "ProjectName");
    }
}

TEST_F(Hardening, LayerNamesBecomeSafeDistinctTraceFiles) {
    CliResult r = runCliIn(dir, "predict m.onnx -i x.npy -o y.npy --trace tr");
    ASSERT_EQ(r.status, 0) << r.output;
    for (auto& e : fs::directory_iterator(dir / "tr")) {
        const std::string name = e.path().filename().string();
        EXPECT_NE(name[0], '.') << name;
        for (char c : name) EXPECT_TRUE(std::isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.') << name;
    }
    EXPECT_TRUE(contains(slurp(dir / "tr" / "tachyon_trace.json"), "\"layers\""));
}

// --- Clear errors --------------------------------------------------------------------

TEST_F(Hardening, FoldersGivenAsFilesAreErrors) {
    fs::create_directories(dir / "d.yml");
    fs::create_directories(dir / "d.onnx");
    fs::create_directories(dir / "d.npy");
    expectRefused("info m.onnx -c d.yml", "d.yml: -c: is a folder");
    expectRefused("predict m.onnx -c d.yml -i x.npy -o y.npy", "is a folder");
    expectRefused("info d.onnx", "d.onnx: model: is a folder");
    expectRefused("predict m.onnx -i d.npy -o y.npy", "d.npy: -i: is a folder");
    expectRefused("predict m.onnx -i missing.npy -o y.npy", "missing.npy: -i: file not found");
}

TEST_F(Hardening, NegativeStagesAndThreadsAreRefused) {
    for (const char* args : {"convert m.onnx -o prj --backend verilog --stages -2",
                             "convert m.onnx -o prj --backend verilog --stages -1",
                             "predict m.onnx -i x.npy -o y.npy -j -1"}) {
        CliResult r = runCliIn(dir, args);
        EXPECT_NE(r.status, 0) << args;
        EXPECT_TRUE(contains(r.output, "not in range")) << r.output;
        EXPECT_FALSE(fs::exists(dir / "prj"));
        EXPECT_FALSE(fs::exists(dir / "y.npy"));
    }
}

TEST_F(Hardening, NanAndInfInputsAreCountedAndCanBeRefused) {
    size_t rows, cols;
    std::vector<double> x = tachyon::readNpy((dir / "x.npy").string(), rows, cols);
    x[3 * cols + 2] = NAN;
    x[5 * cols + 0] = INFINITY;
    x[9 * cols + 1] = NAN;
    tachyon::writeNpy((dir / "xnan.npy").string(), x.data(), rows, cols);
    CliResult r = runCliIn(dir, "predict m.onnx -i xnan.npy -o y.npy");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "non-finite inputs (not counted above): 2 NaN, 1 infinite")) << r.output;
    EXPECT_TRUE(contains(r.output, "warning: xnan.npy: 2 NaN and 1 infinite values (first at row 3, column 2)"))
        << r.output;
    expectRefused("predict m.onnx -i xnan.npy -o y2.npy --nan error", "row 3, column 2 is NaN");
    // Finite input: no warning.
    r = runCliIn(dir, "predict m.onnx -i x.npy -o y3.npy");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(contains(r.output, "warning")) << r.output;
}

// --- HDF5 ----------------------------------------------------------------------------

TEST_F(Hardening, Hdf5DatasetLargerThanTheFileIsRefusedBeforeAllocating) {
    // A dataset declaring 2^31 doubles (16 GiB) whose storage was never written: the
    // file is a few KB. Reading it must fail at once, not allocate 16 GiB.
    const std::string path = (dir / "huge.h5").string();
    {
        hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t dims[1] = {hsize_t(1) << 31};
        hid_t space = H5Screate_simple(1, dims, nullptr);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
        hid_t ds = H5Dcreate2(f, "w", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Dclose(ds);
        H5Pclose(dcpl);
        H5Sclose(space);
        H5Fclose(f);
    }
    ASSERT_LT(fs::file_size(path), 100000u);
    tachyon::Hdf5File h5(path);
    std::vector<size_t> shape;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        h5.readDataset("w", shape);
        ADD_FAILURE() << "no error";
    } catch (const tachyon::Error& e) {
        EXPECT_TRUE(contains(e.what(), "huge.h5")) << e.what();
        EXPECT_TRUE(contains(e.what(), "2147483648")) << e.what();
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

// The Keras fixture with its global heap (where HDF5 keeps variable-length strings such
// as model_config) corrupted by `damage`; empty when the fixture is missing.
std::string corruptedKerasH5(const fs::path& dir, const std::string& name,
                             const std::function<void(std::string&, size_t gcol)>& damage) {
    const char* env = std::getenv("TACHYON_FIXTURES");
    const fs::path src = fs::path(env && *env ? env : TACHYON_BINARY_DIR "/fixtures") / "keras_dense_full.h5";
    if (!fs::exists(src)) return "";
    std::string bytes = slurp(src);
    const size_t gcol = bytes.find("GCOL");
    if (gcol == std::string::npos) return "";
    damage(bytes, gcol);
    const fs::path out = dir / name;
    std::ofstream(out, std::ios::binary) << bytes;
    return out.string();
}

TEST_F(Hardening, CorruptKerasH5HeapFailsWithinSeconds) {
    // A free-space object of size 0 in the collection: libhdf5 1.10 loops forever on it.
    const std::string zeroFree = corruptedKerasH5(dir, "zero_free.h5", [](std::string& b, size_t gcol) {
        size_t p = gcol + 16;
        for (;;) {  // walk the objects to the free-space one (index 0)
            uint16_t idx = uint8_t(b[p]) | uint16_t(uint8_t(b[p + 1]) << 8);
            uint64_t size = 0;
            for (int i = 7; i >= 0; --i) size = (size << 8) | uint8_t(b[p + 8 + size_t(i)]);
            if (idx == 0) break;
            p += 16 + ((size + 7) & ~uint64_t(7));
        }
        for (int i = 0; i < 8; ++i) b[p + 8 + size_t(i)] = 0;
    });
    // A string reference whose length disagrees with its heap object.
    const std::string badLength = corruptedKerasH5(dir, "bad_length.h5", [](std::string& b, size_t gcol) {
        std::string ref(8, '\0');
        for (int i = 0; i < 8; ++i) ref[size_t(i)] = char(uint64_t(gcol) >> (8 * i));
        const size_t at = b.find(ref + std::string("\x01\0\0\0", 4));
        if (at != std::string::npos) b[at - 1] = char(0x7f);  // length += 2 GB
    });
    if (zeroFree.empty() || badLength.empty()) GTEST_SKIP() << "no Keras fixture (scripts/make_fixtures.py)";
    for (const std::string& file : {zeroFree, badLength}) {
        const auto t0 = std::chrono::steady_clock::now();
        CliResult r = runCliIn(dir, "info " + file);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_EQ(r.status, 1) << r.output;
        EXPECT_TRUE(contains(r.output, "tachyon: error: " + file + ": corrupt file")) << r.output;
        EXPECT_LT(s, 5.0);
    }
}

TEST_F(Hardening, NpyDeclaringMoreDataThanItHoldsIsRefused) {
    auto npy = [&](const std::string& name, const std::string& shape) {
        std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
        header += std::string(118 - header.size(), ' ') + "\n";
        std::ofstream(dir / name, std::ios::binary)
            << std::string("\x93NUMPY\x01\x00", 8) << char(header.size()) << '\0' << header << std::string(64, '\0');
    };
    npy("huge.npy", "(1099511627776, 16)");
    npy("overflow.npy", "(4611686018427387904, 16)");
    npy("nocols.npy", "(4611686018427387904, 0)");
    expectRefused("predict m.onnx -i huge.npy -o y.npy", "the file has 64");
    expectRefused("predict m.onnx -i overflow.npy -o y.npy", "impossibly large");
    expectRefused("predict m.onnx -i nocols.npy -o y.npy", "no columns");
}

TEST_F(Hardening, ConfigurationWithNonScalarKeysIsAnError) {
    // Found by fuzz_config: a mapping used as a layer name threw a YAML exception that
    // nothing caught (std::terminate).
    std::ofstream(dir / "odd.yml") << "LayerName:\n  ? {a: 1}\n  : {Precision: ap_fixed<8,3>}\n";
    expectRefused("info m.onnx -c odd.yml", "odd.yml");
    const std::string trees = std::string(TACHYON_BINARY_DIR) + "/fixtures/xgb_small4.json";
    if (fs::exists(trees)) {
        fs::copy_file(trees, dir / "t.json");
        std::ofstream(dir / "tree_odd_key.yml") << "? [1, 2]\n: 3\n";
        expectRefused("convert t.json -c tree_odd_key.yml -o prj", "configuration keys must be names");
    }
}

// --- Crashes inside libraries ---------------------------------------------------------

TEST(CrashIsolation, ChildOutcomesBecomeErrorsHere) {
    using tachyon::Error;
    // Success returns; the read's side effects stay in the child.
    int touched = 0;
    EXPECT_NO_THROW(tachyon::tryReadInChildProcess("f.h5", "lib", [&] { touched = 1; }));
    EXPECT_EQ(touched, 0);
    // A tachyon::Error keeps its message.
    try {
        tachyon::tryReadInChildProcess("f.h5", "lib", [] { throw Error("f.h5: layer 'x': reason"); });
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "f.h5: layer 'x': reason");
    }
    // A crash names the file and the library. (Under ASan the child exits instead of dying
    // of the signal; either way it is reported as a crash.)
    try {
        tachyon::tryReadInChildProcess("f.h5", "libhdf5", [] { std::raise(SIGSEGV); });
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "f.h5: libhdf5 crashed reading this file")) << e.what();
    }
    // A hang is cut at the time limit.
    const auto t0 = std::chrono::steady_clock::now();
    try {
        tachyon::tryReadInChildProcess("f.h5", "libhdf5", [] { for (;;) pause(); }, 1);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "f.h5: reading it did not finish within 1 s")) << e.what();
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
    // Out of memory stays std::bad_alloc (the CLI has one message for it).
    EXPECT_THROW(tachyon::tryReadInChildProcess("f.h5", "lib", [] { throw std::bad_alloc(); }), std::bad_alloc);
}

TEST_F(Hardening, KerasH5ThatCrashesLibhdf5IsAnError) {
    // Found by fuzz_keras_h5 (a mutation of the project's Keras fixture): libhdf5 1.10.8
    // dereferences a bad pointer inside H5Fopen itself, where no check can reach.
    const fs::path file = dir / "crashes_libhdf5.h5";
    fs::copy_file(TACHYON_SOURCE_DIR "/tests/data/keras_h5_crashes_libhdf5.h5", file);
    for (const char* cmd : {"info crashes_libhdf5.h5", "predict crashes_libhdf5.h5 -i x.npy -o y.npy"}) {
        CliResult r = runCliIn(dir, cmd);
        EXPECT_EQ(r.status, 1) << cmd << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, "tachyon: error: crashes_libhdf5.h5: libhdf5 crashed reading this file")) << r.output;
        EXPECT_FALSE(fs::exists(dir / "y.npy"));
    }
}

TEST_F(Hardening, OutOfMemoryIsAClearError) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer aborts on huge allocations instead of throwing std::bad_alloc";
#endif
    // A valid model whose output needs 4 GiB per row (predict's blocks shrink to one row for
    // wide outputs, so no single row may fit): the allocation fails (the address space is
    // capped so that this holds on any machine).
    const std::string script = R"(
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 1, 4, 4])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, None)
scales = numpy_helper.from_array(np.array([1, 32, 1024, 1024], dtype=np.float32), 'scales')
roi = numpy_helper.from_array(np.array([], dtype=np.float32), 'roi')
node = helper.make_node('Resize', ['x', 'roi', 'scales'], ['y'], mode='nearest', name='upsample')
graph = helper.make_graph([node], 'huge', [x], [y], [roi, scales])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)]), sys.argv[1] + '/huge.onnx')
np.save(sys.argv[1] + '/rows.npy', np.ones((1000, 16), dtype=np.float32))
)";
    { std::ofstream(dir / "make.py") << script; }
    ASSERT_EQ(std::system(("cd /tmp && /usr/bin/python3 '" + (dir / "make.py").string() + "' '" + dir.string() + "'").c_str()), 0);
    // The cap: ulimit in the shell that starts the CLI (runCliIn() puts the CLI's path first).
    CliResult r = runCliIn(dir, "info huge.onnx > /dev/null; ulimit -v 4000000; " TACHYON_CLI " predict huge.onnx -i rows.npy -o out.npy --float");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "tachyon: error: huge.onnx: memory: out of memory")) << r.output;
    EXPECT_FALSE(fs::exists(dir / "out.npy"));
    EXPECT_FALSE(hasTemporaries(dir));
}
