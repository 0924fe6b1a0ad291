"""The harness table: each harness protocol's scorer and template are found by name."""

from perceptrl.eval.harness_lmms import LmmsEvalScorer
from perceptrl.eval.harness_vlmevalkit import VlmEvalKitScorer
from perceptrl.eval.harnesses import harness_scorer, harness_template
from perceptrl.eval.protocols import PROTOCOLS
from perceptrl.eval.provenance import template_hash


def test_every_harness_protocol_has_its_scorer_and_template():
    for name, cls in (("lmms_eval", LmmsEvalScorer), ("vlmevalkit", VlmEvalKitScorer)):
        p = PROTOCOLS[name]
        assert isinstance(harness_scorer(p.scorer, None), cls)
        rewrite, spec = harness_template(p.template)
        assert spec and rewrite("geo3k", "a problem", {}, None) == "a problem"
    assert harness_template("perception_r1") is None


def test_scorer_reuses_a_given_scorer_and_wraps_a_client():
    given = VlmEvalKitScorer()
    assert harness_scorer("vlmevalkit", given) is given

    class Judge:  # what `eval rescore` passes: a judge scorer holding the client
        client = object()

    assert harness_scorer("vlmevalkit", Judge()).client is Judge.client


def test_template_hashes_differ_per_harness():
    hashes = {template_hash(t) for t in ("lmms_eval", "vlmevalkit", "perception_r1")}
    assert len(hashes) == 3
