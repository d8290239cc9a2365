"""Every ```yaml block of README.md and docs/*.md is a configuration Tachyon reads (issue #27:
README's own example did not load). Network configurations go through Config::parse (the
parser behind `-c`), tree configurations (docs/trees.md) through loading a tree ensemble.
A block preceded by the line `<!-- yaml: partial -->` is an excerpt and is skipped."""
import glob
import os
import re

import pytest

import tachyon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
FIXTURES = os.environ.get("TACHYON_FIXTURES", os.path.join(BUILD, "fixtures"))
JET = os.path.join(BUILD, "cli_test", "jet_tagger.onnx")
TREE = os.path.join(FIXTURES, "xgb_multi.json")
PARTIAL = "<!-- yaml: partial -->"


def yaml_blocks(path):
    """(line number, text) of each ```yaml block not marked partial."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, k = [], 0
    while k < len(lines):
        if re.match(r"^```ya?ml\s*$", lines[k]):
            start = k
            k += 1
            while k < len(lines) and not lines[k].startswith("```"):
                k += 1
            previous = next((line for line in reversed(lines[:start]) if line.strip()), "")
            if previous.strip() != PARTIAL:
                blocks.append((start + 1, "\n".join(lines[start + 1:k]) + "\n"))
        k += 1
    return blocks


DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
BLOCKS = [(os.path.relpath(p, ROOT), line, text) for p in DOCS for line, text in yaml_blocks(p)]


def test_the_documents_have_yaml_examples():
    assert any(f == "README.md" for f, _, _ in BLOCKS)


def test_extractor_sees_blocks_and_partial_marks(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("a\n```yaml\nModel:\n  Precision: ap_fixed<8,3>\n```\n" + PARTIAL + "\n\n```yaml\nfoo: [\n```\n")
    assert yaml_blocks(md) == [(2, "Model:\n  Precision: ap_fixed<8,3>\n")]


@pytest.mark.parametrize("doc,line,text", BLOCKS, ids=[f"{f}:{n}" for f, n, _ in BLOCKS])
def test_yaml_block_loads(doc, line, text, tmp_path):
    where = f"{doc}:{line}"
    if doc == os.path.join("docs", "trees.md"):
        if not os.path.exists(TREE):
            pytest.skip("scripts/make_tree_fixtures.py not run")
        cfg = tmp_path / "tree.yml"
        cfg.write_text(text)
        tachyon.load(TREE, config=str(cfg))
    else:
        tachyon._tachyon.check_config(text, where)


def test_flow_mapping_precision_is_refused_with_the_key():
    # The README's old example: in a flow mapping the comma inside the type splits it.
    with pytest.raises(tachyon.TachyonError, match="Precision"):
        tachyon._tachyon.check_config("LayerType:\n  Dense:\n    Precision: {weight: ap_fixed<8,2>, bias: ap_fixed<8,2>}\n")


@pytest.mark.skipif(not os.path.exists(JET), reason="examples/make_jet_tagger.py build/cli_test not run")
def test_readme_configuration_configures_a_model():
    # It names `fc1` and `softmax` as hls4ml's PyTorch converter does: the jet tagger has them.
    text = [t for f, _, t in BLOCKS if f == "README.md" and "LayerName" in t][0]
    m = tachyon.load(JET, config=tachyon._tachyon.yaml_to_config(text))
    assert "ap_fixed<16,6,AP_RND,AP_SAT>" in m.summary()
