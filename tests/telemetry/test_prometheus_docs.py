"""The dashboard, the alert rules and docs/metrics.md reference only metrics that exist."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.conftest import REPO_ROOT, require_executable
from tests.telemetry.run_events import simulated_run_events
from webplatform_digest.events import Telemetry
from webplatform_digest.telemetry.prometheus import PrometheusHook

DOCS = REPO_ROOT / "docs"
DASHBOARD = DOCS / "grafana" / "webplatform-digest.json"
ALERTS = DOCS / "prometheus" / "alerts.yml"
ALERT_TESTS = DOCS / "prometheus" / "alerts_test.yml"
METRIC_NAME = re.compile(r"\b(?:webplatform_digest|process)_[a-z_]+\b")


def _exposed() -> tuple[set[str], set[str]]:
    """(family names, sample names) of a registry after a simulated run."""
    registry = CollectorRegistry()
    telemetry = Telemetry((PrometheusHook(registry, ("css", "webgpu")),))
    for event in simulated_run_events("run-1", ("css", "webgpu", "media")):
        telemetry.emit(event)
    families = list(registry.collect())
    samples = {s.name for f in families for s in f.samples}
    suffix = {"counter": "_total", "info": "_info"}
    names = {f.name + suffix.get(f.type, "") for f in families}
    return names, samples


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_metric_the_dashboard_queries_is_exposed() -> None:
    """Each name in a panel query is a sample name our registry really exposes."""
    _, samples = _exposed()
    used = {name for expr in _dashboard_exprs() for name in METRIC_NAME.findall(expr)}
    assert len(used) >= 25
    assert used - samples == set()


def test_every_metric_an_alert_rule_queries_is_exposed() -> None:
    """Each name in an alert expression is a sample name our registry really exposes."""
    _, samples = _exposed()
    rules = _alert_rules()
    assert {r["alert"] for r in rules} == {
        "WebplatformDigestCircuitBreakerOpen",
        "WebplatformDigestFallbackRateHigh",
        "WebplatformDigestStageLatencyOverBudget",
        "WebplatformDigestWriteErrors",
        "WebplatformDigestEventLoopLagging",
    }
    used = {name for r in rules for name in METRIC_NAME.findall(r["expr"])}
    assert used - samples == set()


def test_the_dashboard_is_well_formed_grafana_json() -> None:
    """Unique panel ids, every query with a refId and datasource, panels inside 24 columns."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert dashboard["uid"] == "webplatform-digest"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs)
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    assert _no_overlap([p["gridPos"] for p in panels])


def _no_overlap(grids: list[dict[str, int]]) -> bool:
    cells: set[tuple[int, int]] = set()
    for g in grids:
        area = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        if cells & area:
            return False
        cells |= area
    return True


def test_metrics_doc_lists_exactly_the_exposed_families() -> None:
    """docs/metrics.md documents every family we expose and none that we do not."""
    names, _ = _exposed()
    ours = {n for n in names if n.startswith("webplatform_digest_")}
    text = (DOCS / "metrics.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(webplatform_digest_[a-z_]+)`", text))
    assert ours - documented == set()
    assert documented - ours == set()


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [require_executable("promtool"), *args],
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.e2e
def test_promtool_accepts_the_alert_rules() -> None:
    """promtool check rules finds the five rules and no problem."""
    result = _promtool("check", "rules", ALERTS.name, cwd=ALERTS.parent)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"5 rules found" in result.stdout


@pytest.mark.e2e
def test_the_alert_rule_unit_tests_pass() -> None:
    """promtool test rules: each alert fires when it should and stays quiet otherwise."""
    result = _promtool("test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"SUCCESS" in result.stdout
