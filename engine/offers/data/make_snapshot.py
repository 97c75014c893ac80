"""Write the embedded catalog snapshot (gpuhunt's CSV format) from public list prices.

Run: python engine/offers/data/make_snapshot.py   (rewrites catalog/*.csv and SNAPSHOT.txt)
The instance types are the rows of list_prices.csv beside this script: their public specs
and on-demand USD/hour list price in the base region; other regions apply a regional
factor and spot rows a typical discount.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

SNAPSHOT_DATE = "2026-11-01"
FIELDS = [
    "instance_name", "location", "price", "cpu", "memory", "gpu_count", "gpu_name",
    "gpu_memory", "spot", "disk_size", "gpu_vendor", "flags", "cpu_arch", "provider_data",
]  # fmt: skip

REGIONS = {
    "aws": {"us-east-1": 1.0, "us-west-2": 1.0, "eu-west-1": 1.12, "ap-northeast-1": 1.25},
    "gcp": {"us-central1": 1.0, "us-east4": 1.06, "europe-west4": 1.1, "asia-east1": 1.12},
    "azure": {"eastus": 1.0, "westus2": 1.0, "westeurope": 1.13, "southeastasia": 1.2},
    "lambdalabs": {"us-east-1": 1.0, "us-west-1": 1.0},
}
# Fixed local disks only; aws/gcp/azure volumes are sized on request (empty, as in gpuhunt's
# own catalogs), so a disk requirement never rules their offers out.
DISK = {"lambdalabs": 512}
SPOT_DISCOUNT = {"aws": 0.35, "gcp": 0.3, "azure": 0.3}  # fraction of the on-demand price


def rows(provider: str, types: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for region, factor in REGIONS[provider].items():
        for t in types:
            count = int(t["gpu_count"])
            for spot in (False, True) if provider in SPOT_DISCOUNT else (False,):
                p = float(t["price"]) * factor * (SPOT_DISCOUNT[provider] if spot else 1.0)
                out.append(
                    {
                        "instance_name": t["instance_name"],
                        "location": region,
                        "price": f"{p:.4f}",
                        "cpu": str(int(t["cpu"])),
                        "memory": str(float(t["memory"])),
                        "gpu_count": str(count),
                        "gpu_name": t["gpu_name"],
                        "gpu_memory": str(float(t["gpu_memory"])) if count else "",
                        "spot": str(spot),
                        "disk_size": str(float(DISK[provider])) if provider in DISK else "",
                        "gpu_vendor": t["gpu_vendor"],
                        "flags": "",
                        "cpu_arch": "x86",
                        "provider_data": json.dumps({}),
                    }
                )
    return out


def list_prices(path: Path) -> dict[str, list[dict[str, str]]]:
    """The rows of list_prices.csv by provider, in file order."""
    by_provider: dict[str, list[dict[str, str]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            by_provider.setdefault(row.pop("provider"), []).append(row)
    return by_provider


def main() -> None:
    here = Path(__file__).parent
    out_dir = here / "catalog"
    out_dir.mkdir(exist_ok=True)
    for provider, types in list_prices(here / "list_prices.csv").items():
        with open(out_dir / f"{provider}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows(provider, types))
    (out_dir / "SNAPSHOT.txt").write_text(SNAPSHOT_DATE + "\n")


if __name__ == "__main__":
    main()
