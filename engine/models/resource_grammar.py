"""The text forms of .dstack.yml resources, parsed into plain mappings (no models here).

`gpu: A100:80GB:2` -> {"name": ["A100"], "memory": "80GB", "count": "2"}, `24GB..` ->
{"min": 24.0, "max": None}; models/resources.py validates those mappings into models.
Sizes are in GB (float, `1TB` = 1024GB, `512MB` = 0.5GB), counts are ints, open ends None.
Errors are ValueErrors saying what is accepted (pydantic adds the field's path).
"""

from __future__ import annotations

import re
from typing import Literal

GPU_EXAMPLES = "A100, 24GB.., A100:80GB:2, H100:8, A10G,L4, nvidia:2, 24GB..80GB:1..2"
Vendor = Literal["nvidia", "amd", "google", "intel", "tenstorrent"]
VENDORS: tuple[Vendor, ...] = ("nvidia", "amd", "google", "intel", "tenstorrent")
_VENDOR_ALIASES = {"tpu": "google", "gaudi": "intel"}

_NUMBER = r"\d+(?:\.\d+)?"
_SIZE = re.compile(rf"^({_NUMBER})\s*(mb|gb|tb)?$", re.IGNORECASE)
_SIZE_WITH_UNIT = re.compile(rf"^-?{_NUMBER}\s*(mb|gb|tb)$", re.IGNORECASE)
_COUNT_TOKEN = re.compile(r"^-?\d*\s*(\.\.)?\s*-?\d*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\- ]*$")
_CAPABILITY = re.compile(r"^\d+\.\d+$")
_UNIT_GB = {"mb": 1 / 1024, "gb": 1.0, "tb": 1024.0, "": 1.0}

_NVIDIA = {
    "a10", "a10g", "a100", "a40", "a16", "a2", "a30", "a4000", "a4500", "a5000", "a6000",
    "a800", "b100", "b200", "gb200", "gh200", "h100", "h100nvl", "h200", "h20", "h800", "k80",
    "l4", "l40", "l40s", "m60", "p100", "p4", "p40", "rtx3060", "rtx3070", "rtx3080",
    "rtx3090", "rtx4060", "rtx4070", "rtx4080", "rtx4090", "rtx5090", "rtx6000", "rtxa4000",
    "rtxa5000", "rtxa6000", "t4", "v100", "b300", "gb300", "rtxpro6000",
}  # fmt: skip
_AMD = {
    "mi100", "mi210", "mi250", "mi250x", "mi300a", "mi300x", "mi308x", "mi325x", "mi350x",
    "mi355x", "rx7900xtx", "w7900",
}  # fmt: skip
_INTEL = {"gaudi", "gaudi2", "gaudi3"}
_TENSTORRENT = {"n150", "n300", "p100a", "p150a", "p150b", "galaxy"}
_TPU = re.compile(r"^(tpu-)?v\d+[a-z]*(-\d+)?$", re.IGNORECASE)


def parse_size(value: object, *, what: str = "size") -> float:
    """GB of `80GB`, `1TB`, `512MB` or a plain number (GB). ValueError says what is accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a size such as 80GB, 1TB or 512MB, got {value}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{what} cannot be negative ({value}): write e.g. 100GB")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected a size such as 80GB, 1TB or 512MB")
    text = value.strip()
    if text.startswith("-"):
        raise ValueError(f"{what} cannot be negative ({text}): write e.g. 100GB")
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{what}: expected a size such as 80GB, 1TB or 512MB, got {value!r}")
    number, unit = match.groups()
    return float(number) * _UNIT_GB[(unit or "").lower()]


def parse_size_range(value: object) -> dict[str, float | None]:
    """{min, max} in GB from `24GB..`, `..80GB`, `200GB..1TB`, `80GB` or a number."""
    if isinstance(value, dict):
        _only_keys(value, ("min", "max"), "a size range")
        return {
            k: (None if value.get(k) is None else parse_size(value[k], what="size"))
            for k in ("min", "max")
        }
    if isinstance(value, str) and ".." in value:
        lo, hi = (part.strip() for part in value.split("..", 1))
        if not lo and not hi:
            raise ValueError("a size range needs at least one end, e.g. 24GB.. or ..80GB")
        return {
            "min": parse_size(lo, what="size") if lo else None,
            "max": parse_size(hi, what="size") if hi else None,
        }
    size = parse_size(value, what="size")
    return {"min": size, "max": size}


def parse_count(value: object) -> dict[str, int | None]:
    """{min, max} from `2`, `2..`, `..8`, `2..8` or an int."""
    if isinstance(value, bool):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value}")
    if isinstance(value, int):
        _check_not_negative(value)
        return {"min": value, "max": value}
    if isinstance(value, dict):
        _only_keys(value, ("min", "max"), "a count range")
        return {k: _count_number(value.get(k)) for k in ("min", "max")}
    if not isinstance(value, str):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value!r}")
    text = value.strip()
    if ".." in text:
        lo, hi = (part.strip() for part in text.split("..", 1))
        if not lo and not hi:
            raise ValueError("a count range needs at least one end, e.g. 1.. or ..8")
        return {"min": _count_number(lo or None), "max": _count_number(hi or None)}
    number = _count_number(text)
    return {"min": number, "max": number}


def gpu_vendor_of(name: str) -> Vendor | None:
    """The vendor of a known GPU/accelerator name (None when unknown)."""
    key = name.strip().lower().replace(" ", "").replace("-", "")
    if key in _NVIDIA:
        return "nvidia"
    if key in _AMD:
        return "amd"
    if key in _INTEL:
        return "intel"
    if key in _TENSTORRENT:
        return "tenstorrent"
    if _TPU.match(name.strip()):
        return "google"
    return None


def _count_number(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value}")
    if isinstance(value, int):
        _check_not_negative(value)
        return value
    text = str(value).strip()
    if re.fullmatch(r"-\d+", text):
        _check_not_negative(int(text))
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value!r}")
    return int(text)


def _check_not_negative(value: int) -> None:
    if value < 0:
        raise ValueError(f"a count cannot be negative ({value}): write e.g. 1 or 1..")


def check_bounds(lo: float | None, hi: float | None, what: str, unit: str) -> None:
    """ValueError when the range's min exceeds its max (dstack accepts it; we do not)."""
    if lo is not None and hi is not None and lo > hi:
        low, high = format_number(lo) + unit, format_number(hi) + unit
        raise ValueError(
            f"the {what} range {low}..{high} has its min above its max: write {high}..{low}"
        )


def _only_keys(value: dict[str, object], allowed: tuple[str, ...], what: str) -> None:
    extra = [str(k) for k in value if k not in allowed]
    if extra:
        raise ValueError(f"{what} accepts only {', '.join(allowed)}; got {', '.join(extra)}")


def parse_cpu(value: object) -> dict[str, object]:
    """{arch, count} from `8..`, `arm:4`, an int or a mapping."""
    if isinstance(value, bool):
        raise ValueError("cpu: expected a count such as 8.., arm:4 or {arch: x86, count: 2..}")
    if isinstance(value, int):
        return {"count": value}
    if isinstance(value, dict):
        if set(value) <= {"min", "max"} and value:
            return {"count": value}
        return value
    if not isinstance(value, str):
        raise ValueError("cpu: expected a count such as 8.., arm:4 or {arch: x86, count: 2..}")
    result: dict[str, object] = {}
    for token in (t.strip() for t in value.split(":")):
        lowered = token.lower()
        if lowered in ("x86", "arm"):
            _set_once(result, "arch", lowered, value, "cpu")
        elif token and _COUNT_TOKEN.match(token):
            _set_once(result, "count", token, value, "cpu")
        else:
            raise ValueError(
                f"cpu: cannot read {token!r} in {value!r}: write a count (8, 8.., 4..16), "
                "an arch (x86, arm) or both, e.g. arm:4"
            )
    return result


def parse_gpu(value: object) -> dict[str, object]:
    """{vendor, name, count, memory, ...} from `A100:80GB:2`, `24GB..`, an int or a mapping."""
    if isinstance(value, bool):
        raise ValueError(f"gpu: expected e.g. {GPU_EXAMPLES}, got {value}")
    if isinstance(value, int):
        return {"count": value}
    if isinstance(value, dict):
        return _gpu_mapping(value)
    if not isinstance(value, str):
        raise ValueError(f"gpu: expected e.g. {GPU_EXAMPLES}, got {value!r}")
    result: dict[str, object] = {}
    for token in (t.strip() for t in value.split(":")):
        if not token:
            raise ValueError(f"gpu: empty part in {value!r}: write e.g. {GPU_EXAMPLES}")
        lowered = token.lower()
        if lowered in VENDORS or lowered in _VENDOR_ALIASES:
            _set_once(result, "vendor", _VENDOR_ALIASES.get(lowered, lowered), value, "gpu")
        elif _COUNT_TOKEN.match(token):
            _set_once(result, "count", token, value, "gpu")
        elif _is_size_token(token):
            _set_once(result, "memory", token, value, "gpu")
        else:
            _set_once(result, "name", _split_names(token), value, "gpu")
    if "count" not in result:
        result["count"] = "1.."
    return result


def _gpu_mapping(value: dict[str, object]) -> dict[str, object]:
    result = dict(value)
    vendor = result.get("vendor")
    if isinstance(vendor, str):
        lowered = vendor.strip().lower()
        result["vendor"] = _VENDOR_ALIASES.get(lowered, lowered)
    if "name" in result:
        names = result["name"]
        if isinstance(names, str):
            result["name"] = _split_names(names)
        elif isinstance(names, list):
            result["name"] = [n for item in names for n in _split_names(str(item))]
    cc = result.get("compute_capability")
    if isinstance(cc, int | float) and not isinstance(cc, bool):
        result["compute_capability"] = f"{float(cc):.1f}"
    cc = result.get("compute_capability")
    if isinstance(cc, str):
        text = cc.strip()
        if not _CAPABILITY.match(text):
            raise ValueError(f"compute_capability: expected e.g. 8.0 or 9.0, got {text!r}")
        result["compute_capability"] = text
    if "count" not in result and any(v is not None for v in result.values()):
        result["count"] = "1.."
    return {k: v for k, v in result.items() if v is not None}


def _split_names(token: str) -> list[str]:
    names = [n.strip() for n in token.split(",")]
    for n in names:
        if not n or not _NAME.match(n):
            raise ValueError(f"gpu: {token!r} is not a GPU name list: write e.g. A10G,L4")
    return [n[4:].lower() if n.lower().startswith("tpu-") else n for n in names]


def _is_size_token(token: str) -> bool:
    if ".." in token:
        lo, hi = token.split("..", 1)
        return all(not p.strip() or _SIZE_WITH_UNIT.match(p.strip()) for p in (lo, hi))
    return bool(_SIZE_WITH_UNIT.match(token))


def _set_once(result: dict[str, object], key: str, item: object, whole: str, what: str) -> None:
    if key in result:
        raise ValueError(f"{what}: {whole!r} gives the {key} twice: write e.g. {GPU_EXAMPLES}")
    result[key] = item


def json_number(value: float | None) -> float | None:
    """A whole float as an int (80.0 -> 80), as dstack's normalized output writes it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def format_number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def range_text(lo: float | None, hi: float | None, unit: str) -> str:
    """`2..8`, `24GB..`, `1TB` (a range with min == max is one value)."""
    if lo is not None and lo == hi:
        return _with_unit(lo, unit)
    left = _with_unit(lo, unit) if lo is not None else ""
    right = _with_unit(hi, unit) if hi is not None else ""
    return f"{left}..{right}"


def _with_unit(value: float, unit: str) -> str:
    if unit == "GB" and value >= 1024 and value % 1024 == 0:
        return f"{format_number(value / 1024)}TB"
    return f"{format_number(value)}{unit}"
