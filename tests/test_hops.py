"""The pipeline's hops are one vocabulary (services/pipeline/hops.py): every step an upload takes, every check's
hop and every diagram node is named there, and the report, the upload's messages and the diagram derive from it."""

from __future__ import annotations

import ast

from services.checks.report import HOPS as REPORT_HOPS
from services.checks.runner import REGISTRY
from services.pipeline import hops
from services.pipeline.upload import HOP_NAMES
from services.views.diagram import CHECK_HOP_NODES, NODES, STEP_NODES
from tests.conftest import PROJECT_ROOT


def test_every_step_the_upload_takes_is_in_the_vocabulary():
    tree = ast.parse((PROJECT_ROOT / "services" / "pipeline" / "upload.py").read_text())
    begun = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "begin"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert begun and begun <= set(hops.STEP_TITLES), begun - set(hops.STEP_TITLES)
    assert begun | {"presign_retry"} == {step.name for step in hops.UPLOAD_STEPS}


def test_every_check_belongs_to_a_hop_and_every_hop_to_places():
    assert {check.id.split(".", 1)[0] for check in REGISTRY} == {hop.id for hop in hops.CHECK_HOPS}
    assert all(set(hop.places) <= set(hops.PLACE_IDS) for hop in hops.CHECK_HOPS)
    assert all(step.place in hops.PLACE_IDS for step in hops.UPLOAD_STEPS)


def test_the_report_the_upload_and_the_diagram_derive_from_it():
    assert tuple((hop.id, hop.title) for hop in hops.CHECK_HOPS) == REPORT_HOPS
    assert dict(HOP_NAMES) == {step.name: step.title for step in hops.UPLOAD_STEPS}
    assert [node for node, _ in NODES] == [place.id for place in hops.PLACES]
    assert dict(STEP_NODES) == {step.name: step.place for step in hops.UPLOAD_STEPS}
    assert dict(CHECK_HOP_NODES) == {hop.id: hop.places for hop in hops.CHECK_HOPS}
