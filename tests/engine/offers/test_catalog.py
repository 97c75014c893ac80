import pytest
from fleetstack.engine.errors import FleetstackError
from fleetstack.engine.offers.catalog import (
    EMBEDDED_DIR,
    catalog_source,
    query_catalog,
    update_catalog,
)
from fleetstack.engine.paths import catalog_dir


def test_embedded_snapshot_answers_8_a100_80gb_offline():
    source = catalog_source()
    assert source.kind == "embedded" and source.version  # dated snapshot
    items = query_catalog(
        source, min_gpu_count=8, max_gpu_count=8, gpu_name=["A100"], min_gpu_memory=80
    )
    assert {i.provider for i in items} >= {"aws", "gcp", "azure"}


def test_snapshot_covers_main_gpus_and_spot():
    items = query_catalog(catalog_source())
    assert {"T4", "L4", "A10G", "L40S", "A100", "H100", "H200", "V100", "MI300X"} <= {
        i.gpu_name for i in items
    }
    assert any(i.spot for i in items) and any(i.gpu_count == 0 for i in items)


def test_downloaded_catalog_wins_over_embedded_and_env_wins_over_both(tmp_path, monkeypatch):
    target = catalog_dir()
    target.mkdir(parents=True)
    (target / "aws.csv").write_text((EMBEDDED_DIR / "aws.csv").read_text())
    assert catalog_source().kind == "downloaded"
    monkeypatch.setenv("GPUHUNT_CATALOG_DIR", str(tmp_path))
    assert catalog_source().kind == "GPUHUNT_CATALOG_DIR"
    with pytest.raises(FleetstackError, match="no catalog CSV"):
        query_catalog(catalog_source())


def test_update_says_clearly_when_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUHUNT_CATALOG_URL", (tmp_path / "nowhere").as_uri())
    with pytest.raises(FleetstackError, match="cannot download the catalog"):
        update_catalog()
    assert not catalog_dir().exists()


def test_a_downloaded_catalog_is_parsed_once_for_later_commands(tmp_path, monkeypatch):
    from fleetstack.engine.offers import rows as catalog_rows
    from fleetstack.engine.offers.catalog import warm_rows
    from fleetstack.engine.paths import cache_dir

    monkeypatch.setattr(catalog_rows, "_DISK_CACHE_MIN_BYTES", 0)
    (tmp_path / "aws.csv").write_text((EMBEDDED_DIR / "aws.csv").read_text())
    (tmp_path / "gcp.csv").write_text((EMBEDDED_DIR / "gcp.csv").read_text())
    warm_rows(tmp_path)
    assert sorted(p.name.split("-")[0] for p in (cache_dir() / "catalog").iterdir()) == [
        "aws",
        "gcp",
    ]
