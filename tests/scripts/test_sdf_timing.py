"""scripts/sdf_timing.py: the static timing of an SDF file (ctest `sdf_timing`).

A hand-written SDF with known paths checks the parser and the longest-path walk; a tiny
design placed and routed by Debian's nextpnr-ice40 (seconds) checks that the worst
register-to-register path equals nextpnr's own critical path, so the per-stage figures
scripts/pnr_ice40.py builds on it are nextpnr's timing, not a second model.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import sdf_timing  # noqa: E402

# r1 -> lut a -> lut b -> r2 (the long path) and r1 -> r2 directly; an input pad -> r3;
# r2 -> an output pad. Escaped names as nextpnr writes them. Times in ps.
HAND_SDF = r"""
(DELAYFILE
  (SDFVERSION "3.0")
  (DESIGN "top")
  (DIVIDER /)
  (TIMESCALE 1ps)
  (CELL (CELLTYPE "top") (INSTANCE )
    (DELAY (ABSOLUTE
      (INTERCONNECT \$gb/GLOBAL_BUFFER_OUTPUT r1/CLK (300:300:300) (300:300:300))
      (INTERCONNECT r1/O a\[0\]_lc/I0 (600:600:600) (600:600:600))
      (INTERCONNECT a\[0\]_lc/O b_lc/I2 (500:500:500) (450:450:450))
      (INTERCONNECT b_lc/O r2/I1 (400:400:400) (400:400:400))
      (INTERCONNECT r1/O r2/I0 (700:700:700) (700:700:700))
      (INTERCONNECT in\$sb_io/D_IN_0 r3/I0 (1000:1000:1000) (1000:1000:1000))
      (INTERCONNECT r2/O out\$sb_io/D_OUT_0 (2000:2000:2000) (2000:2000:2000))
    ))
  )
  (CELL (CELLTYPE "ICESTORM_LC") (INSTANCE r1)
    (DELAY (ABSOLUTE (IOPATH (posedge CLK) O (540:540:540) (540:540:540))))
    (TIMINGCHECK (SETUPHOLD (posedge I0) (posedge CLK) (470:470:470) (0:0:0))))
  (CELL (CELLTYPE "ICESTORM_LC") (INSTANCE a\[0\]_lc)
    (DELAY (ABSOLUTE (IOPATH I0 O (450:450:450) (400:400:400)))))
  (CELL (CELLTYPE "ICESTORM_LC") (INSTANCE b_lc)
    (DELAY (ABSOLUTE (IOPATH I2 O (380:380:380) (380:380:380)))))
  (CELL (CELLTYPE "ICESTORM_LC") (INSTANCE r2)
    (DELAY (ABSOLUTE (IOPATH CLK O (540:540:540) (540:540:540))))
    (TIMINGCHECK (SETUPHOLD (posedge I1) (posedge CLK) (470:470:470) (0:0:0))
                 (SETUPHOLD (posedge I0) (posedge CLK) (470:470:470) (0:0:0))))
  (CELL (CELLTYPE "ICESTORM_LC") (INSTANCE r3)
    (DELAY (ABSOLUTE (IOPATH CLK O (540:540:540) (540:540:540))))
    (TIMINGCHECK (SETUPHOLD (posedge I0) (posedge CLK) (470:470:470) (0:0:0))))
)
"""


def test_hand_written_paths():
    sdf = sdf_timing.parse_sdf(HAND_SDF)
    assert sdf["timescale_ns"] == pytest.approx(1e-3)
    assert "a[0]_lc" in sdf["cells"]
    ends, loops = sdf_timing.analyse(sdf)
    assert loops == 0
    by = {(e["cell"], e["pin"]): e for e in ends}
    # clock-to-out 540 + 600 + 450 + 500 + 380 + 400 + setup 470 = 3340 ps; 1840 logic, 1500 routing.
    long = by[("r2", "I1")]
    assert long["ns"] == pytest.approx(3.34)
    assert long["logic_ns"] == pytest.approx(1.84)
    assert long["routing_ns"] == pytest.approx(1.50)
    assert long["from"] == "r1/O" and long["from_register"]
    assert by[("r2", "I0")]["ns"] == pytest.approx(0.54 + 0.70 + 0.47)
    pad = by[("r3", "I0")]
    assert pad["ns"] == pytest.approx(1.0 + 0.47) and not pad["from_register"]
    assert by[("out$sb_io", "D_OUT_0")]["ns"] == pytest.approx(2.54)
    assert ends[0]["ns"] == max(e["ns"] for e in ends)
    # The clock network is not a data path: nothing ends at or starts from a clock pin.
    assert all(e["pin"] != "CLK" for e in ends)


def test_timescale_and_malformed_input():
    sdf = sdf_timing.parse_sdf(HAND_SDF.replace("(TIMESCALE 1ps)", "(TIMESCALE 10ps)"))
    assert sdf_timing.analyse(sdf)[0][0]["ns"] == pytest.approx(33.4)
    for bad in ["", "(DELAYFILE", "(CELL)", "(DELAYFILE (TIMESCALE 1 furlong))",
                "(DELAYFILE (CELL (INSTANCE x) (DELAY (ABSOLUTE (IOPATH A O ())))))"]:
        with pytest.raises((sdf_timing.SdfError, ValueError)):
            sdf_timing.analyse(sdf_timing.parse_sdf(bad))


def test_script_reports_a_clear_error(tmp_path):
    p = tmp_path / "bad.sdf"
    p.write_text("(DELAYFILE (CELL")
    r = subprocess.run([sys.executable, os.path.join(os.path.dirname(sdf_timing.__file__), "sdf_timing.py"), str(p)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "sdf_timing: error:" in r.stderr and "bad.sdf" in r.stderr


TINY_VERILOG = """
module top(input clk, input [7:0] a, input [7:0] b, output reg [9:0] y);
  reg [7:0] ar, br; reg [8:0] s; reg [9:0] t;
  always @(posedge clk) begin ar <= a; br <= b; s <= ar + br; t <= s + {br, 1'b0}; y <= t; end
endmodule
"""


@pytest.mark.skipif(not (shutil.which("yosys") and shutil.which("nextpnr-ice40")),
                    reason="yosys or nextpnr-ice40 not installed (scripts/setup.sh installs them)")
def test_worst_path_is_nextpnrs_critical_path(tmp_path):
    (tmp_path / "t.v").write_text(TINY_VERILOG)
    subprocess.run(["yosys", "-q", "-p", f"read_verilog {tmp_path}/t.v; synth_ice40 -top top -json {tmp_path}/t.json"],
                   check=True)
    log = subprocess.run(["nextpnr-ice40", "--hx1k", "--package", "tq144", "--json", str(tmp_path / "t.json"),
                          "--sdf", str(tmp_path / "t.sdf"), "--freq", "100", "--seed", "1"],
                         capture_output=True, text=True)
    assert log.returncode == 0, log.stdout + log.stderr
    text = log.stdout + log.stderr
    fmax = [float(x) for x in re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz", text)]
    assert fmax, text
    ends, _ = sdf_timing.analyse(sdf_timing.parse_sdf((tmp_path / "t.sdf").read_text()))
    reg = [e for e in ends if e["from_register"] and e["setup_ns"] > 0]
    assert reg
    # nextpnr prints Fmax to 0.01 MHz: 1000 / fmax agrees to a few ps.
    assert reg[0]["ns"] == pytest.approx(1000.0 / fmax[-1], abs=0.01)
    assert reg[0]["routing_ns"] > 0 and reg[0]["logic_ns"] > 0
