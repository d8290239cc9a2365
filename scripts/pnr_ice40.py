#!/usr/bin/python3
"""Place and route a Tachyon Verilog project on a real device (Lattice iCE40 HX8K, Debian's
yosys + nextpnr-ice40) and set the routed critical path beside the scheduler's estimate.

    /usr/bin/python3 scripts/pnr_ice40.py PROJECT [--freq MHZ] [--json OUT.json]

Tachyon's delay model is calibrated for UltraScale+ against a placement-free walk of Yosys'
netlist (docs/verilog.md, "Calibration"); no Xilinx place and route exists here. nextpnr
routes a real FPGA family, so it shows what placement adds (the routing share of a path)
and which pipeline stage really limits the clock, against the stage the scheduler rated
heaviest. The iCE40 is about 3x slower than UltraScale+, so compare shapes, not
nanoseconds (docs/verilog.md, "Place and route check").

Per stage: nextpnr's SDF (every routed cell arc and connection) is timed by
scripts/sdf_timing.py, and each register endpoint is mapped back to the pipeline stage
whose logic it closes (nextpnr's routed netlist names the net each logic cell's flip-flop
drives: Tachyon's `<node>_r<k>`), so every stage's routed worst path stands beside the
scheduler's estimate for it.

Prints a summary and, with --json, writes: fmax_mhz, critical_ns, logic_ns, routing_ns,
endpoint (register), stage (the netlist stage whose logic ends there), stage_estimate_ns
(the scheduler's estimate for that stage), stage_estimates_ns (all stages), sdf_critical_ns
(the SDF timing's worst register-to-register path: nextpnr's own figure, recomputed) and
stages: per pipeline stage {stage, routed_ns, logic_ns, routing_ns, from, to, endpoints,
estimate_ns}.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdf_timing  # noqa: E402


def fail(msg):
    print(f"pnr_ice40: error: {msg}", file=sys.stderr)
    sys.exit(1)


def node_stages(verilog_text):
    """Netlist stage of every wire, from the generated module's `// ---- stage N ----` headers."""
    stages, stage = {}, None
    for line in verilog_text.splitlines():
        m = re.match(r"\s*// ---- stage (\d+) ----", line)
        if m:
            stage = int(m.group(1))
            continue
        m = re.match(r"\s*wire signed \[\d+:0\] (\w+);", line)
        if m and stage is not None:
            stages[m.group(1)] = stage
    return stages


def critical_path(log):
    """(fmax MHz, logic ns, routing ns, endpoint cell) of the last clock-to-clock report."""
    fmax = [float(x) for x in re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz", log)]
    reports = log.split("Critical path report for clock")
    if not fmax or len(reports) < 2:
        return None
    last = reports[-1].split("Critical path report for")[0]
    split = re.search(r"([\d.]+) ns logic, ([\d.]+) ns routing", last)
    sinks = re.findall(r"Sink (\S+)", last)
    return fmax[-1], float(split.group(1)), float(split.group(2)), sinks[-1] if sinks else ""


def register_of(name):
    """(node, k) of a pipeline register bit's net name `<node>_r<k>[bit]`, else None."""
    m = re.match(r"(\w+)_r(\d+)(?:\[\d+\])?$", name.split("$")[0])
    return (m.group(1), int(m.group(2))) if m else None


def cell_registers(routed):
    """Cell name -> (node, k) of the pipeline register its flip-flop is (nextpnr's routed JSON:
    a logic cell's O pin drives the flip-flop's net, named after the register)."""
    mods = routed.get("modules", {})
    if not mods:
        return {}
    mod = next(iter(mods.values()))
    names = {}
    for name, n in mod.get("netnames", {}).items():
        for b in n.get("bits", []):
            names.setdefault(b, []).append(name)
    out = {}
    for cname, c in mod.get("cells", {}).items():
        for b in c.get("connections", {}).get("O", []):
            for n in names.get(b, []):
                r = register_of(n)
                if r:
                    out[cname] = r
                    break
    return out


def stage_table(sdf_ends, registers, stages, estimates):
    """Worst routed path per pipeline stage (register endpoints of known stage only)."""
    table = {}
    for e in sdf_ends:
        r = registers.get(e["cell"])
        if r is None or r[0] not in stages:
            continue
        st = stages[r[0]] + r[1] - 1
        row = table.setdefault(st, {"stage": st, "endpoints": 0})
        row["endpoints"] += 1
        if "routed_ns" not in row or e["ns"] > row["routed_ns"]:
            row.update(routed_ns=e["ns"], logic_ns=e["logic_ns"], routing_ns=e["routing_ns"], to=e["cell"],
                       **{"from": e["from"]})
    for st, row in table.items():
        row["estimate_ns"] = estimates[st] if st < len(estimates) else None
    return [table[k] for k in sorted(table)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("project")
    ap.add_argument("--freq", type=float, default=100.0, help="target clock for nextpnr (MHz)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    manifest_path = os.path.join(args.project, "tachyon_project.json")
    if not os.path.isfile(manifest_path):
        fail(f"{manifest_path}: not found (convert a model with --backend verilog first)")
    with open(manifest_path) as f:
        manifest = json.load(f)
    if manifest.get("backend") not in (None, "verilog") or "rtl_files" not in manifest:
        fail(f"{manifest_path}: not a Verilog project")
    top = manifest.get("top", manifest.get("project_name", "myproject"))
    rtl = [os.path.join(args.project, r) for r in manifest["rtl_files"]]
    verilog = "".join(open(r).read() for r in rtl)

    work = os.path.join(args.project, "pnr_ice40")
    os.makedirs(work, exist_ok=True)
    netlist = os.path.join(work, "ice40.json")
    reads = "; ".join(f"read_verilog {os.path.abspath(r)}" for r in rtl)
    print(f"pnr_ice40: yosys synth_ice40 on {top} ...", flush=True)
    with open(os.path.join(work, "yosys.log"), "w") as log:
        if subprocess.run(["yosys", "-q", "-p", f"{reads}; synth_ice40 -top {top} -json {netlist}"],
                          stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            fail(f"yosys failed, see {work}/yosys.log")
    print("pnr_ice40: nextpnr-ice40 --hx8k --package ct256 ...", flush=True)
    pnr_log = os.path.join(work, "nextpnr.log")
    sdf_path, routed_path = os.path.join(work, "routed.sdf"), os.path.join(work, "routed.json")
    with open(pnr_log, "w") as log:
        if subprocess.run(["nextpnr-ice40", "--hx8k", "--package", "ct256", "--json", netlist, "--freq",
                           str(args.freq), "--timing-allow-fail", "--seed", "1", "--sdf", sdf_path,
                           "--write", routed_path],
                          stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            fail(f"nextpnr-ice40 failed (does the design fit an HX8K, 7,680 cells and 206 I/O?), see {pnr_log}")
    cp = critical_path(open(pnr_log).read())
    if cp is None:
        fail(f"{pnr_log}: no clock-to-clock critical path report")
    fmax, logic, routing, endpoint = cp

    # nextpnr names a cell after the net it drives: the pipeline register `<node>_r<k>`
    # keeps the name of the netlist node it copies.
    stages = node_stages(verilog)
    m = re.match(r"(\w+?)_r(\d+)(?:_|$)", endpoint)
    stage = None
    if m and m.group(1) in stages:
        stage = stages[m.group(1)] + int(m.group(2)) - 1
    estimates = manifest.get("stage_estimates_ns", [])
    try:
        with open(sdf_path) as f:
            sdf_ends, _ = sdf_timing.analyse(sdf_timing.parse_sdf(f.read()))
        with open(routed_path) as f:
            registers = cell_registers(json.load(f))
    except (OSError, ValueError, sdf_timing.SdfError) as e:
        fail(f"{work}: reading nextpnr's SDF or routed netlist: {e}")
    # A logic cell that packs a LUT with the register is named after the LUT's net
    # (`<node>_SB_LUT4_O_..._LC`, the sink a pin of it such as `.I1`): its flip-flop's net,
    # from the routed netlist, names the register.
    if stage is None:
        r = registers.get(endpoint.rsplit(".", 1)[0])
        if r and r[0] in stages:
            stage = stages[r[0]] + r[1] - 1
    reg_ends = [e for e in sdf_ends if e["from_register"] and e["setup_ns"] > 0]
    per_stage = stage_table(sdf_ends, registers, stages, estimates)
    result = {
        "fmax_mhz": fmax,
        "critical_ns": round(1000.0 / fmax, 3),
        "logic_ns": logic,
        "routing_ns": routing,
        "endpoint": endpoint,
        "stage": stage,
        "stage_estimate_ns": estimates[stage] if stage is not None and stage < len(estimates) else None,
        "stage_estimates_ns": estimates,
        "sdf_critical_ns": reg_ends[0]["ns"] if reg_ends else None,
        "stages": per_stage,
    }
    print(f"routed (iCE40 HX8K): {fmax:.1f} MHz = {result['critical_ns']:.2f} ns; critical path "
          f"{logic:.1f} ns logic + {routing:.1f} ns routing ({100 * routing / (logic + routing):.0f}% routing), "
          f"ends at {endpoint}")
    if stage is not None:
        heaviest = max(range(len(estimates)), key=lambda k: estimates[k]) if estimates else None
        print(f"that is the logic of netlist stage {stage}: the scheduler's estimate "
              f"{result['stage_estimate_ns']:.2f} ns (UltraScale+ model; its heaviest stage is {heaviest} at "
              f"{estimates[heaviest]:.2f} ns)")
    print("per stage (routed on iCE40 vs the scheduler's UltraScale+ estimate; ratio = routed / estimate):")
    print("  stage  routed ns  (logic + routing)  estimate ns  ratio  endpoints")
    for row in per_stage:
        est = row["estimate_ns"]
        ratio = f"{row['routed_ns'] / est:5.2f}" if est else "    -"
        print(f"  {row['stage']:5d}  {row['routed_ns']:9.2f}  ({row['logic_ns']:5.2f} + {row['routing_ns']:5.2f})  "
              f"{est if est is not None else float('nan'):11.2f}  {ratio}  {row['endpoints']:9d}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
