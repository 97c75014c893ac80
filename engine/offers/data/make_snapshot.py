"""Write the embedded catalog snapshot (gpuhunt's CSV format) from public list prices.

Run: python engine/data/make_snapshot.py   (rewrites engine/data/catalog/*.csv and SNAPSHOT.txt)
Prices are on-demand USD/hour list prices of the base region; other regions apply a
regional factor and spot rows a typical discount. Specs are the instance types' public specs.
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

# (instance, cpus, memory GB, gpu count, gpu name, gpu memory GB, vendor, on-demand $/h)
AWS = [
    ("g4dn.xlarge", 4, 16, 1, "T4", 16, "nvidia", 0.526),
    ("g4dn.2xlarge", 8, 32, 1, "T4", 16, "nvidia", 0.752),
    ("g4dn.12xlarge", 48, 192, 4, "T4", 16, "nvidia", 3.912),
    ("g5.xlarge", 4, 16, 1, "A10G", 24, "nvidia", 1.006),
    ("g5.2xlarge", 8, 32, 1, "A10G", 24, "nvidia", 1.212),
    ("g5.12xlarge", 48, 192, 4, "A10G", 24, "nvidia", 5.672),
    ("g5.48xlarge", 192, 768, 8, "A10G", 24, "nvidia", 16.288),
    ("g6.xlarge", 4, 16, 1, "L4", 24, "nvidia", 0.805),
    ("g6.12xlarge", 48, 192, 4, "L4", 24, "nvidia", 4.602),
    ("g6e.xlarge", 4, 32, 1, "L40S", 48, "nvidia", 1.861),
    ("g6e.12xlarge", 48, 384, 4, "L40S", 48, "nvidia", 10.493),
    ("p3.2xlarge", 8, 61, 1, "V100", 16, "nvidia", 3.06),
    ("p3.8xlarge", 32, 244, 4, "V100", 16, "nvidia", 12.24),
    ("p4d.24xlarge", 96, 1152, 8, "A100", 40, "nvidia", 32.773),
    ("p4de.24xlarge", 96, 1152, 8, "A100", 80, "nvidia", 40.966),
    ("p5.48xlarge", 192, 2048, 8, "H100", 80, "nvidia", 98.32),
    ("p5e.48xlarge", 192, 2048, 8, "H200", 141, "nvidia", 113.0),
    ("m5.large", 2, 8, 0, "", 0, "", 0.096),
    ("m5.xlarge", 4, 16, 0, "", 0, "", 0.192),
    ("m5.2xlarge", 8, 32, 0, "", 0, "", 0.384),
    ("m5.4xlarge", 16, 64, 0, "", 0, "", 0.768),
    ("c5.2xlarge", 8, 16, 0, "", 0, "", 0.34),
    ("c5.4xlarge", 16, 32, 0, "", 0, "", 0.68),
]
GCP = [
    ("n1-standard-4-1xT4", 4, 15, 1, "T4", 16, "nvidia", 0.54),
    ("n1-standard-8-4xT4", 8, 30, 4, "T4", 16, "nvidia", 1.78),
    ("n1-standard-8-1xV100", 8, 30, 1, "V100", 16, "nvidia", 2.86),
    ("g2-standard-4", 4, 16, 1, "L4", 24, "nvidia", 0.707),
    ("g2-standard-48", 48, 192, 4, "L4", 24, "nvidia", 4.0),
    ("a2-highgpu-1g", 12, 85, 1, "A100", 40, "nvidia", 3.673),
    ("a2-highgpu-8g", 96, 680, 8, "A100", 40, "nvidia", 29.387),
    ("a2-ultragpu-1g", 12, 170, 1, "A100", 80, "nvidia", 5.069),
    ("a2-ultragpu-8g", 96, 1360, 8, "A100", 80, "nvidia", 40.55),
    ("a3-highgpu-8g", 208, 1872, 8, "H100", 80, "nvidia", 88.25),
    ("e2-standard-4", 4, 16, 0, "", 0, "", 0.134),
    ("n2-standard-8", 8, 32, 0, "", 0, "", 0.388),
]
AZURE = [
    ("Standard_NC4as_T4_v3", 4, 28, 1, "T4", 16, "nvidia", 0.526),
    ("Standard_NC64as_T4_v3", 64, 440, 4, "T4", 16, "nvidia", 4.352),
    ("Standard_NV36ads_A10_v5", 36, 440, 1, "A10", 24, "nvidia", 3.2),
    ("Standard_NC24ads_A100_v4", 24, 220, 1, "A100", 80, "nvidia", 3.673),
    ("Standard_NC96ads_A100_v4", 96, 880, 4, "A100", 80, "nvidia", 14.692),
    ("Standard_ND96asr_v4", 96, 900, 8, "A100", 40, "nvidia", 27.197),
    ("Standard_ND96amsr_A100_v4", 96, 1900, 8, "A100", 80, "nvidia", 32.77),
    ("Standard_ND96isr_H100_v5", 96, 1900, 8, "H100", 80, "nvidia", 98.32),
    ("Standard_ND96isr_MI300X_v5", 96, 1850, 8, "MI300X", 192, "amd", 48.0),
    ("Standard_D4s_v5", 4, 16, 0, "", 0, "", 0.192),
    ("Standard_D8s_v5", 8, 32, 0, "", 0, "", 0.384),
]
LAMBDA = [
    ("gpu_1x_a10", 30, 200, 1, "A10", 24, "nvidia", 0.75),
    ("gpu_1x_a100_sxm4", 30, 200, 1, "A100", 40, "nvidia", 1.29),
    ("gpu_8x_a100_80gb_sxm4", 240, 1800, 8, "A100", 80, "nvidia", 14.32),
    ("gpu_1x_h100_pcie", 26, 200, 1, "H100", 80, "nvidia", 2.49),
    ("gpu_8x_h100_sxm5", 208, 1800, 8, "H100", 80, "nvidia", 23.92),
]
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


def rows(provider: str, types: list[tuple]) -> list[dict[str, str]]:
    out = []
    for region, factor in REGIONS[provider].items():
        for name, cpus, memory, count, gpu, gpu_mem, vendor, price in types:
            for spot in (False, True) if provider in SPOT_DISCOUNT else (False,):
                p = price * factor * (SPOT_DISCOUNT[provider] if spot else 1.0)
                out.append(
                    {
                        "instance_name": name,
                        "location": region,
                        "price": f"{p:.4f}",
                        "cpu": str(cpus),
                        "memory": str(float(memory)),
                        "gpu_count": str(count),
                        "gpu_name": gpu,
                        "gpu_memory": str(float(gpu_mem)) if count else "",
                        "spot": str(spot),
                        "disk_size": str(float(DISK[provider])) if provider in DISK else "",
                        "gpu_vendor": vendor,
                        "flags": "",
                        "cpu_arch": "x86",
                        "provider_data": json.dumps({}),
                    }
                )
    return out


def main() -> None:
    out_dir = Path(__file__).parent / "catalog"
    out_dir.mkdir(exist_ok=True)
    for provider, types in (("aws", AWS), ("gcp", GCP), ("azure", AZURE), ("lambdalabs", LAMBDA)):
        with open(out_dir / f"{provider}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows(provider, types))
    (out_dir / "SNAPSHOT.txt").write_text(SNAPSHOT_DATE + "\n")


if __name__ == "__main__":
    main()
