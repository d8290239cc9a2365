#!/usr/bin/python3
"""Register-to-register timing of a routed design from its SDF back-annotation file.

    /usr/bin/python3 scripts/sdf_timing.py ROUTED.sdf [--json OUT.json] [--top N]

nextpnr (`--sdf FILE`) writes the routed delay of every cell arc (IOPATH) and of every
routed connection (INTERCONNECT), and every register input's setup time (SETUPHOLD). Its
own log prints one critical path per clock; the pipeline scheduler needs the worst path
into *every* register, to set each pipeline stage's routed delay beside its estimate.
This is that static timing analysis: paths start at a register output (the CLK -> O arc:
clock-to-out) or at a pad (arrival 0) and end at a register input (plus its setup) or at
an output pad; the worst arrival at each endpoint is split into logic (cell arcs) and
routing (connections). Clock skew is not modelled: every register's clock comes from one
global buffer, at one delay in nextpnr's SDF.

As a module: `analyse(parse_sdf(text))` returns the endpoints, worst first.
"""
import argparse
import json
import sys


def fail(msg):
    print(f"sdf_timing: error: {msg}", file=sys.stderr)
    sys.exit(1)


class SdfError(Exception):
    pass


def tokens(text):
    """'(' , ')' and atoms; a backslash escapes the next character of an atom (kept as is)."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            yield ch
            i += 1
        elif ch == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise SdfError("unterminated string")
            yield text[i:j + 1]
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "()":
                j += 2 if text[j] == "\\" else 1
            yield text[i:j]
            i = j


def sexpr(text):
    """The file as nested lists of atoms."""
    stack, top = [[]], None
    for t in tokens(text):
        if t == "(":
            stack.append([])
        elif t == ")":
            if len(stack) < 2:
                raise SdfError("unbalanced ')'")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(t)
    if len(stack) != 1:
        raise SdfError("unbalanced '('")
    top = stack[0]
    if len(top) != 1 or not isinstance(top[0], list) or not top[0] or top[0][0] != "DELAYFILE":
        raise SdfError("not an SDF file (no DELAYFILE)")
    return top[0]


def unescape(name):
    out, i = [], 0
    while i < len(name):
        if name[i] == "\\" and i + 1 < len(name):
            out.append(name[i + 1])
            i += 2
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def split_pin(path, divider):
    """'inst/pin' -> (inst, pin), splitting at the last unescaped divider."""
    cut, i = -1, 0
    while i < len(path):
        if path[i] == "\\":
            i += 2
            continue
        if path[i] == divider:
            cut = i
        i += 1
    if cut < 0:
        return "", unescape(path)
    return unescape(path[:cut]), unescape(path[cut + 1:])


def delay_ps(values):
    """The largest (max field) of the rise/fall triples '(a:b:c)'."""
    worst = None
    for v in values:
        if not isinstance(v, list) or not v:
            continue
        for field in v[0].split(":"):
            if field:
                worst = max(worst, float(field)) if worst is not None else float(field)
    if worst is None:
        raise SdfError(f"no delay value in {values}")
    return worst


def parse_sdf(text):
    """{'timescale_ns', 'cells': {inst: type}, 'arcs': [(inst, in, out, ps)],
    'nets': [(from_inst, from_pin, to_inst, to_pin, ps)], 'setup': {(inst, pin): ps}}."""
    root = sexpr(text)
    divider, scale = "/", 1.0
    out = {"cells": {}, "arcs": [], "nets": [], "setup": {}}
    for item in root[1:]:
        if not isinstance(item, list) or not item:
            continue
        if item[0] == "DIVIDER" and len(item) > 1:
            divider = item[1]
        elif item[0] == "TIMESCALE" and len(item) > 1:
            unit = "".join(item[1:])
            num = "".join(ch for ch in unit if ch.isdigit() or ch == ".") or "1"
            suffix = unit[len(num):] if unit.startswith(num) else unit.lstrip("0123456789.")
            per_ns = {"ps": 1e-3, "ns": 1.0, "us": 1e3}.get(suffix)
            if per_ns is None:
                raise SdfError(f"unknown TIMESCALE {unit}")
            scale = float(num) * per_ns
        elif item[0] == "CELL":
            ctype = inst = ""
            for f in item[1:]:
                if not isinstance(f, list) or not f:
                    continue
                if f[0] == "CELLTYPE" and len(f) > 1:
                    ctype = f[1].strip('"')
                elif f[0] == "INSTANCE":
                    inst = unescape(f[1]) if len(f) > 1 else ""
                elif f[0] == "DELAY":
                    for block in f[1:]:
                        for d in block[1:] if isinstance(block, list) else []:
                            if not isinstance(d, list) or not d:
                                continue
                            if d[0] == "IOPATH" and len(d) >= 4:
                                src = d[1][-1] if isinstance(d[1], list) else d[1]   # (posedge CLK) -> CLK
                                out["arcs"].append((inst, unescape(src), unescape(d[2]), delay_ps(d[3:])))
                            elif d[0] == "INTERCONNECT" and len(d) >= 4:
                                fi, fp = split_pin(d[1], divider)
                                ti, tp = split_pin(d[2], divider)
                                out["nets"].append((fi, fp, ti, tp, delay_ps(d[3:])))
                elif f[0] == "TIMINGCHECK":
                    for chk in f[1:]:
                        if isinstance(chk, list) and chk and chk[0] in ("SETUPHOLD", "SETUP") and len(chk) >= 4:
                            pin = chk[1][-1] if isinstance(chk[1], list) else chk[1]
                            key = (inst, unescape(pin))
                            out["setup"][key] = max(out["setup"].get(key, 0.0), delay_ps([chk[3]]))
            if inst or ctype:
                out["cells"][inst] = ctype
    out["timescale_ns"] = scale
    return out


def is_clock_pin(pin):
    return pin.upper() in ("CLK", "CLOCK", "C") or pin.upper().endswith("CLK")


def analyse(sdf, output_pins=("D_OUT_0", "D_OUT_1")):
    """Endpoints, worst first: dicts with cell, pin, ns, logic_ns, routing_ns, from (the
    register or pad that starts the path), setup_ns. Pins on combinational loops are left out."""
    ns = sdf["timescale_ns"]
    succ = {}      # pin -> [(pin, ps, is_routing)]
    indeg = {}
    sources = {}   # pin -> clock-to-out ps (a register output)
    pins = set()

    def edge(a, b, ps, routing):
        succ.setdefault(a, []).append((b, ps, routing))
        indeg[b] = indeg.get(b, 0) + 1
        pins.add(a)
        pins.add(b)

    for inst, src, dst, ps in sdf["arcs"]:
        if is_clock_pin(src):
            sources[(inst, dst)] = max(sources.get((inst, dst), 0.0), ps)
            pins.add((inst, dst))
        else:
            edge((inst, src), (inst, dst), ps, False)
    for fi, fp, ti, tp, ps in sdf["nets"]:
        if is_clock_pin(tp):
            continue   # the clock network: no data path continues from a clock pin
        edge((fi, fp), (ti, tp), ps, True)

    # Longest arrival in topological order (Kahn); (total ps, logic ps, routing ps, start).
    best = {}
    for p in pins:
        if p in sources:
            best[p] = (sources[p], sources[p], 0.0, p)
        elif indeg.get(p, 0) == 0:
            best[p] = (0.0, 0.0, 0.0, p)   # a pad or a constant driver
    remaining = dict(indeg)
    ready = [p for p in pins if remaining.get(p, 0) == 0]
    seen = 0
    while ready:
        p = ready.pop()
        seen += 1
        a = best.get(p)
        for q, ps, routing in succ.get(p, []):
            if a is not None and q not in sources:
                cand = (a[0] + ps, a[1] + (0.0 if routing else ps), a[2] + (ps if routing else 0.0), a[3])
                if q not in best or cand[0] > best[q][0]:
                    best[q] = cand
            remaining[q] -= 1
            if remaining[q] == 0:
                ready.append(q)
    loops = len(pins) - seen

    ends = []
    for (inst, pin), setup in sdf["setup"].items():
        a = best.get((inst, pin))
        if a is None or is_clock_pin(pin):
            continue
        ends.append((inst, pin, a, setup))
    for p in pins:
        if p[1] in output_pins and p in best and not succ.get(p) and p not in sdf["setup"]:
            ends.append((p[0], p[1], best[p], 0.0))
    result = []
    for inst, pin, a, setup in ends:
        start = a[3]
        result.append({
            "cell": inst, "pin": pin,
            "ns": round((a[0] + setup) * ns, 4),
            "logic_ns": round((a[1] + setup) * ns, 4),
            "routing_ns": round(a[2] * ns, 4),
            "setup_ns": round(setup * ns, 4),
            "from": start[0] + "/" + start[1],
            "from_register": start in sources,
        })
    result.sort(key=lambda e: -e["ns"])
    return result, loops


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sdf")
    ap.add_argument("--json", help="write every endpoint here")
    ap.add_argument("--top", type=int, default=5, help="endpoints to print (worst first)")
    args = ap.parse_args()
    try:
        with open(args.sdf) as f:
            sdf = parse_sdf(f.read())
    except OSError as e:
        fail(f"{args.sdf}: {e.strerror}")
    except (SdfError, ValueError, IndexError) as e:
        fail(f"{args.sdf}: malformed SDF: {e}")
    ends, loops = analyse(sdf)
    if not ends:
        fail(f"{args.sdf}: no timing endpoint (no SETUP check and no output pad)")
    print(f"sdf_timing: {len(sdf['cells'])} cells, {len(ends)} endpoints"
          + (f", {loops} pins on combinational loops left out" if loops else ""))
    for e in ends[:args.top]:
        print(f"  {e['ns']:7.3f} ns ({e['logic_ns']:.3f} logic + {e['routing_ns']:.3f} routing) "
              f"{e['from']} -> {e['cell']}/{e['pin']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"endpoints": ends, "loop_pins": loops}, f, indent=1)


if __name__ == "__main__":
    main()
