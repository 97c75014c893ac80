"""The fast catalog path answers exactly what gpuhunt answers on its own, on awkward CSVs too."""

import gpuhunt
import pytest
from fleetstack.engine.offers import rows as catalog_rows
from fleetstack.engine.offers.catalog import CatalogSource, query_catalog
from fleetstack.engine.paths import cache_dir

HEADER = "instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data"  # noqa: E501
AWS = [
    "g5.xlarge,us-east-1,1.006,4,16.0,1,A10G,24.0,False,100.0,nvidia,,x86,{}",
    "g5.xlarge,us-east-1,0.4,4,16.0,1,A10G,24.0,true,100.0,nvidia,,x86,{}",
    "p4de.24xlarge,us-east-1,40.96,96,1152.0,8,A100,80.0,False,,nvidia,,x86,{}",
    "p5.48xlarge,us-east-1,98.32,192,2048.0,8,H100,80.0,False,,,,x86,{}",  # vendor implied
    "m7g.large,us-east-1,0.08,2,8.0,0,,,False,100.0,,,arm,{}",
    "m5.large,us-east-1,0.096,2,8.0,0,,,False,100.0,,,,{}",  # arch implied
    "g6.xlarge,us-east-1,0.8,4,16.0,1,L4,24.0,False,100.0,nvidia,hidden beta,x86,{}",
    'p3.2xlarge,us-east-1,3.06,8,61.0,1,V100,16.0,False,100.0,nvidia,,x86,"{""zone"": ""a""}"',
    "",  # a blank line
    "broken-price,us-east-1,,4,16.0,0,,,False,100.0,,,x86,{}",
    "broken-spot,us-east-1,1.0,4,16.0,0,,,maybe,100.0,,,x86,{}",
    "broken-vendor,us-east-1,1.0,4,16.0,1,X1,16.0,False,100.0,acme,,x86,{}",
    "broken-cpu,us-east-1,1.0,4.5,16.0,0,,,False,100.0,,,x86,{}",
    "broken-json,us-east-1,1.0,4,16.0,0,,,False,100.0,,,x86,{not json",
    ",us-east-1,1.0,4,16.0,0,,,False,100.0,,,x86,{}",
]
# an older layout: other column order, no gpu_vendor/flags/cpu_arch/provider_data, TPU prefix
GCP_LEGACY = [
    "location,instance_name,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size",
    "us-central1,a2-highgpu-1g,3.67,12,85.0,1,A100,40.0,False,",
    "us-central1,g2-standard-8,0.85,8,32.0,1,L4,24.0,True,",
    "us-central1,v5litepod-8,9.6,224,400.0,8,tpu-v5litepod,16.0,False,",
    "us-central1,n2-standard-4,0.19,4,16.0,0,,,False,",
]


@pytest.fixture
def source(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog_rows, "_cache", {})
    (tmp_path / "aws.csv").write_text("\n".join([HEADER, *AWS]) + "\n")
    (tmp_path / "gcp.csv").write_text("\n".join(GCP_LEGACY) + "\n")
    return CatalogSource(tmp_path, "GPUHUNT_CATALOG_DIR", str(tmp_path))


QUERIES = [
    {},
    {"min_gpu_count": 0},
    {"min_gpu_count": 1},
    {"max_gpu_count": 0},
    {"min_gpu_count": 0, "min_gpu_memory": 24},
    {"min_gpu_count": 1, "max_gpu_count": 1, "max_gpu_memory": 24},
    {"gpu_name": ["a100", "H100"]},
    {"gpu_name": "v5litepod", "gpu_vendor": "google"},
    {"gpu_vendor": "nvidia", "min_total_gpu_memory": 600},
    {"min_compute_capability": "8.0", "min_gpu_count": 1},
    {"spot": True},
    {"spot": False, "max_price": 1.0},
    {"min_price": 0.5, "max_price": 5},
    {"cpu_arch": "arm"},
    {"min_cpu": 4, "max_cpu": 12, "min_memory": 16, "max_memory": 100},
    {"allowed_flags": ["hidden"]},
]


def gpuhunt_alone(directory, monkeypatch, **filters):
    """gpuhunt reading the CSVs itself (its GPUHUNT_CATALOG_DIR path): the reference."""
    monkeypatch.setenv("GPUHUNT_CATALOG_DIR", str(directory))
    catalog = gpuhunt.Catalog(balance_resources=False, auto_reload=False)
    return catalog.query(provider=["aws", "gcp"], **filters)


def canonical(items):
    return sorted(repr(i) for i in items)


@pytest.mark.parametrize("filters", QUERIES, ids=[str(q) for q in QUERIES])
def test_same_answer_as_gpuhunt_reading_the_csv_itself(source, monkeypatch, filters):
    ours = [row.to_item() for row in query_catalog(source, **filters)]
    expected = gpuhunt_alone(source.directory, monkeypatch, **filters)
    assert canonical(ours) == canonical(expected)
    assert [i.price for i in ours] == sorted(i.price for i in ours)


def test_malformed_rows_are_skipped_and_legacy_columns_understood(source):
    rows = query_catalog(source)
    names = {r.instance_name for r in rows}
    assert not any(n.startswith("broken") for n in names) and "" not in names
    tpu = next(r for r in rows if r.instance_name == "v5litepod-8")
    assert (tpu.gpu_name, tpu.gpu_vendor) == ("v5litepod", gpuhunt.AcceleratorVendor.GOOGLE)
    h100 = next(r for r in rows if r.instance_name == "p5.48xlarge")
    assert h100.gpu_vendor == gpuhunt.AcceleratorVendor.NVIDIA
    assert next(r for r in rows if r.instance_name == "m5.large").cpu_arch.value == "x86"


def test_not_a_catalog_is_one_clear_error(tmp_path, monkeypatch):
    from fleetstack.engine.errors import FleetstackError

    monkeypatch.setattr(catalog_rows, "_cache", {})
    (tmp_path / "aws.csv").write_text("name,price\nx,1\n")
    with pytest.raises(FleetstackError, match=r"aws.csv: not a gpuhunt catalog CSV \(no column"):
        query_catalog(CatalogSource(tmp_path, "GPUHUNT_CATALOG_DIR", str(tmp_path)))


def test_parsed_rows_are_reused_from_the_disk_cache_until_the_file_changes(source, monkeypatch):
    monkeypatch.setattr(catalog_rows, "_DISK_CACHE_MIN_BYTES", 0)
    path = source.directory / "aws.csv"
    first = catalog_rows.read_rows(path, "aws")
    cached = list(cache_dir().joinpath("catalog").glob("aws-*.marshal"))
    assert len(cached) == 1

    # a new process: nothing in memory, and parsing is not needed
    monkeypatch.setattr(catalog_rows, "_cache", {})
    real_parse = catalog_rows._parse
    monkeypatch.setattr(catalog_rows, "_parse", lambda *a: pytest.fail("parsed again"))
    assert catalog_rows.read_rows(path, "aws") == first

    # the file changes: parsed again, new rows seen
    monkeypatch.setattr(catalog_rows, "_parse", real_parse)
    path.write_text("\n".join([HEADER, AWS[0], AWS[4]]) + "\n")
    assert [r.instance_name for r in catalog_rows.read_rows(path, "aws")] == [
        "m7g.large",
        "g5.xlarge",
    ]

    cached = list(cache_dir().joinpath("catalog").glob("aws-*.marshal"))
    assert len(cached) == 1  # the older version's file is gone

    # a damaged cache file is ignored
    monkeypatch.setattr(catalog_rows, "_cache", {})
    cached[0].write_bytes(b"garbage")
    assert len(catalog_rows.read_rows(path, "aws")) == 2


def test_uncached_files_are_parsed_side_by_side_in_child_processes(source, monkeypatch):
    monkeypatch.setattr(catalog_rows, "_DISK_CACHE_MIN_BYTES", 0)
    files = [(source.directory / f"{p}.csv", p) for p in ("aws", "gcp")]
    catalog_rows.prepare_rows(files)
    assert len(list(cache_dir().joinpath("catalog").glob("*.marshal"))) == 2
    monkeypatch.setattr(catalog_rows, "_parse", lambda *a: pytest.fail("parsed in this process"))
    assert [len(catalog_rows.read_rows(*f)) for f in files] == [8, 4]
