"""Generated artefacts stay in sync with their sources: docs/policies.md's rules table with the
registry and config files, and the pack's catalog snapshot with components/catalog."""

from __future__ import annotations

from components import catalog
from policies import docs, gen_catalog
from policies.rules import RULES
from policies.rules.catalog_data import GPU_INSTANCE_TYPES, KUBERNETES_VERSIONS


def test_policies_page_rules_table_matches_the_registry():
    page = docs.PAGE.read_text(encoding="utf-8")
    section = page[page.index("<!-- section:policy -->") : page.index("<!-- /section:policy -->")]
    assert docs.current_table(section) == docs.render_table(), "run: python -m policies.docs"


def test_table_has_one_row_per_rule_with_its_levels():
    table = docs.render_table()
    for rule in RULES:
        [row] = [line for line in table.splitlines() if line.startswith(f"| `{rule.id}` |")]
        assert f"| {rule.severity} | {rule.level} |" in row
    row = next(line for line in table.splitlines() if line.startswith("| `gke-secrets-encryption` |"))
    assert "| n/a | n/a | mandatory |" in row
    row = next(line for line in table.splitlines() if line.startswith("| `eks-private-endpoint` |"))
    assert "| advisory | mandatory | mandatory |" in row


def test_docs_check_command_detects_a_stale_table(tmp_path, monkeypatch):
    stale = tmp_path / "policies.md"
    stale.write_text(f"intro\n{docs.BEGIN}\nold table\n{docs.END}\nrest\n", encoding="utf-8")
    monkeypatch.setattr(docs, "PAGE", stale)
    assert docs.main(["--check"]) == 1
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0
    text = stale.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("\nrest\n") and docs.render_table() in text


def test_catalog_snapshot_matches_components_catalog():
    assert gen_catalog.TARGET.read_text(encoding="utf-8") == gen_catalog.render(), "run: python -m policies.gen_catalog"
    assert gen_catalog.main(["--check"]) == 0


def test_cron_copy_matches_components_catalog():
    """The pack cannot import components/, so it runs a generated copy of the catalog's cron module."""
    assert gen_catalog.CRON_TARGET.read_text(encoding="utf-8") == gen_catalog.render_cron(), "run: python -m policies.gen_catalog"
    from policies.rules import cron as pack_cron

    from components.catalog import cron

    assert pack_cron.max_interval_minutes("@every 90m") == cron.max_interval_minutes("@every 90m") == 90


def test_catalog_snapshot_content():
    for cloud_name, cat in catalog.CLOUDS.items():
        gpu_types = {n: (t.gpus, t.gpu) for n, t in cat.instance_types.items() if t.gpu}
        assert GPU_INSTANCE_TYPES[cloud_name] == gpu_types
    assert KUBERNETES_VERSIONS == tuple(catalog.KUBERNETES_VERSIONS)
