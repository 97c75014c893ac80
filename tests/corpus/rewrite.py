"""Turn a collected configuration into our own text with the same validity-relevant shape.

    python tests/corpus/rewrite.py      # rewrite tests/corpus/docs/*.yml in place (idempotent)

collect.py calls `rewrite()` on every document it finds, so the corpus keeps which keys a
configuration has and the kinds and forms of its values (resource specs, durations, ports,
numbers, booleans, enum values, `${{ ... }}` references, `NAME` vs `NAME=value` env items,
lists vs strings, mappings vs scalars, null) and none of the documentation's own text:
comments go, names are generated with the same character classes (an invalid name stays
invalid the same way), commands become `echo step-N`, env values `value-N`, images, paths,
URLs, hosts and model names neutral ones of the same form.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

HERE = Path(__file__).parent
HEADER = (
    "# `type: {kind}` configurations shaped as in dstack's documentation, our own text (rewrite.py)"
)
_TOKEN = re.compile(r"\$?\$\{\{.*?\}\}")  # ${{ ... }} references and $${{ ... }} escapes
_DSTACK_VAR = re.compile(r"\$\{?DSTACK_[A-Z0-9_]+\}?")
_ENV_ITEM = re.compile(r"^([^=]*)=(.*)$", re.S)
_SECRET = re.compile(r"(\$\{\{\s*secrets\.)([A-Za-z_][A-Za-z0-9_]*)")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"

NAME_KEYS = {"name", "fleet", "claim_name", "storage_class_name", "gateway"}
COMMAND_KEYS = {"commands", "init", "build", "entrypoint", "command"}
PATH_KEYS = {"working_dir", "path", "instance_path", "local_path", "identity_file"}
HOST_KEYS = {"hostname", "hostaname", "hosts"}
TEXT_KEYS = {"chat_template": "template", "eos_token": "token", "body": "body", "value": "value"}
# subtrees whose strings are values of a fixed vocabulary (kept as written)
KEEP_KEYS = {
    "type", "ide", "spot_policy", "placement", "backend", "backends", "region", "regions",
    "availability_zone", "availability_zones", "instance_types", "instance_type", "python",
    "resources", "gpu", "cpu", "memory", "disk", "shm_size", "max_duration", "idle_duration",
    "inactivity_duration", "termination_idle_time", "termination_policy", "retry",
    "retry_policy", "schedule", "utilization_policy", "startup_order", "stop_criteria",
    "scaling", "format", "priority", "nodes", "count", "size", "access_modes", "blocks",
    "port", "ports", "auth", "privileged", "docker", "nvcc", "public_ip", "strip_prefix",
    "if_exists", "method", "interval", "timeout", "rps", "burst", "shell", "reservation",
    "policy", "pd_disaggregation", "optional", "instance", "dstack", "creation_policy",
    "volume_id", "https", "router", "default", "single_branch",
}  # fmt: skip


class Rewriter:
    """Rewrites one document; numbering restarts per document, same text -> same output."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.seen: dict[tuple[str, str], str] = {}
        self.unknown: list[str] = []  # paths of strings kept because no rule knew them

    def number(self, kind: str, original: str) -> int:
        key = (kind, original)
        if key not in self.seen:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            self.seen[key] = str(self.counters[kind])
        return int(self.seen[key])

    def value(self, data: object, path: tuple[str, ...]) -> object:
        key = next((p for p in reversed(path) if p != "[]"), "")
        if key in KEEP_KEYS:
            return data
        if isinstance(data, dict):
            if key == "env":
                return {k: self.env_value(v) for k, v in data.items()}
            if key == "model":
                return {k: self.value(v, (*path, f"model.{k}")) for k, v in data.items()}
            return {k: self.value(v, (*path, str(k))) for k, v in data.items()}
        if isinstance(data, list):
            if key in COMMAND_KEYS:
                return [self.command(x, i + 1) for i, x in enumerate(data)]
            return [self.value(x, (*path, "[]")) for x in data]
        if not isinstance(data, str) or _TOKEN.fullmatch(data.strip()):
            return data
        return self.scalar(data, key, path)

    def scalar(self, text: str, key: str, path: tuple[str, ...]) -> str:
        if key in COMMAND_KEYS:
            return self.command_line(text, 1)
        if key == "env":
            return self.env_item(text)
        if key in ("model", "model.name"):
            return self.slashed(text, "model")
        if key in ("model.type", "model.format"):
            return text
        if key in NAME_KEYS or key in ("fleets", "gateways"):
            return self.name(text)
        if key == "replicas":
            return text  # a count or a range
        if key == "image":
            return self.image(text)
        if key in PATH_KEYS:
            return self.path(text)
        if key == "files":
            return self.mapping(text, self.path, self.path)
        if key == "volumes":
            return self.mapping(text, self.volume_source, self.path)
        if key in ("repos", "url") and "probes" not in path:
            return self.repo(text)
        if key in ("url", "prefix"):
            return self.url_path(text)
        if key in HOST_KEYS:
            return self.host(text)
        if key == "domain":
            return self.domain(text)
        if key in ("username", "user", "password", "header", "arn"):
            return _keep_tokens(text, f"{key}-{self.number(key, text)}")
        if key in TEXT_KEYS or key.startswith("model."):
            kind = TEXT_KEYS.get(key, "text")
            return _keep_tokens(text, f"{kind}-{self.number(kind, text)}")
        self.unknown.append(".".join(path))
        return text

    def command(self, line: object, index: int) -> object:
        return self.command_line(line, index) if isinstance(line, str) else line

    def command_line(self, line: str, index: int) -> str:
        refs = [*_TOKEN.findall(line), *_DSTACK_VAR.findall(line)]
        return " ".join([f"echo step-{index}", *dict.fromkeys(refs)])

    def env_item(self, text: str) -> str:
        match = _ENV_ITEM.match(text)
        if match is None:
            return text  # a variable's name alone: an identifier, kept
        return f"{match.group(1)}={self.env_value(match.group(2))}"

    def env_value(self, value: object) -> object:
        if not isinstance(value, str) or value == "" or _TOKEN.fullmatch(value.strip()):
            return value
        return _keep_tokens(value, f"value-{self.number('value', value)}")

    def name(self, text: str) -> str:
        """Same length and character class at every position, other letters."""
        start = self.number("name", _TOKEN.sub("", text)) * 7
        out, tokens = [], iter(_TOKEN.findall(text))
        for i, part in enumerate(_TOKEN.split(text)):
            if i:
                out.append(next(tokens))  # a ${{ ... }} reference stays where it was
            for char in part:
                letter = _LETTERS[(start + len(out)) % 26]
                out.append(letter.upper() if char.isupper() else letter if char.islower() else char)
        return "".join(out)

    def slashed(self, text: str, kind: str) -> str:
        n = self.number(kind, text)
        return f"org-{n}/{kind}-{n}" if "/" in text else f"{kind}-{n}"

    def image(self, text: str) -> str:
        rest, digest = text.split("@", 1) if "@" in text else (text, None)
        first, _, tail = rest.partition("/")
        registry = bool(tail) and ("." in first or ":" in first or first == "localhost")
        body = tail if registry else rest
        repo, _, tag = body.rpartition(":") if ":" in body else (body, "", "")
        n = self.number("image", text)
        out = "registry.example.com/" if registry else ""
        out += f"example/image-{n}" if "/" in repo else f"image-{n}"
        out += ":tag" if tag else ""
        return out + ("@sha256:" + "0" * 64 if digest is not None else "")

    def path(self, text: str) -> str:
        if text in (".", "..", "~", "/"):
            return text
        n = self.number("path", text)
        for prefix in ("~/", "./", "../", "/"):
            if text.startswith(prefix):
                return f"{prefix}dir-{n}"
        if _DRIVE.match(text):
            return f"{text[:3]}dir-{n}"
        return f"dir-{n}"

    def volume_source(self, text: str) -> str:
        return self.path(text) if text.startswith(("/", "~", ".")) else self.name(text)

    def mapping(self, text: str, left: Callable[[str], str], right: Callable[[str], str]) -> str:
        drive = text[:2] if _DRIVE.match(text) else ""
        local, sep, remote = text[len(drive) :].rpartition(":")
        if not sep:
            return left(text)
        return f"{left(drive + local)}:{right(remote)}"

    def repo(self, text: str) -> str:
        if re.match(r"^[a-z+]+://", text) or text.startswith("git@"):
            n = self.number("repo", text)
            if text.startswith("git@"):
                return f"git@git.example.com:org/repo-{n}.git"
            suffix = ".git" if text.endswith(".git") else ""
            return f"{text.split('://')[0]}://git.example.com/org/repo-{n}{suffix}"
        return self.mapping(text, self.path, self.path)

    def url_path(self, text: str) -> str:
        if not text.startswith("/"):
            return self.repo(text) if "://" in text else text
        query = "?q=1" if "?" in text else ""
        return f"/path-{self.number('url', text)}{'/' if text.endswith('/') else ''}{query}"

    def host(self, text: str) -> str:
        n = self.number("host", text)
        if _IP.match(text):
            return f"192.0.2.{n}"
        return f"host-{n}.example.com" if "." in text else f"host-{n}"

    def domain(self, text: str) -> str:
        tokens = _TOKEN.findall(text)
        wildcard = "*." if text.startswith("*.") else ""
        label = ".".join(tokens) + "." if tokens else ""
        return f"{wildcard}{label}gw-{self.number('domain', text)}.example.com"


def _secret_names(data: object, rewriter: Rewriter) -> object:
    """`${{ secrets.NAME }}` references name our own secrets (`secret_N`)."""
    if isinstance(data, dict):
        return {k: _secret_names(v, rewriter) for k, v in data.items()}
    if isinstance(data, list):
        return [_secret_names(v, rewriter) for v in data]
    if not isinstance(data, str):
        return data
    return _SECRET.sub(
        lambda m: f"{m.group(1)}secret_{rewriter.number('secret', m.group(2))}", data
    )


def _keep_tokens(original: str, replacement: str) -> str:
    tokens = _TOKEN.findall(original)
    return " ".join([replacement, *tokens]) if tokens else replacement


def rewrite(text: str) -> str:
    """Our own YAML for a collected document (same loaded shape, none of its text)."""
    rewriter = Rewriter()
    out = _secret_names(rewriter.value(yaml.safe_load(text), ()), rewriter)
    return str(yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=100))


def unknown_paths(text: str) -> list[str]:
    rewriter = Rewriter()
    rewriter.value(yaml.safe_load(text), ())
    return rewriter.unknown


def rewrite_cases(items: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    """Rewritten cases, without the exact duplicates the rewrite makes (their names)."""
    kept: list[dict[str, str]] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for item in items:
        text = rewrite(item["yaml"])
        if text in seen:
            dropped.append(item["name"])
            continue
        seen.add(text)
        kept.append({**item, "yaml": text})
    return kept, dropped


def main() -> None:
    for file in sorted((HERE / "docs").glob("*.yml")):
        header = HEADER.format(kind=file.stem)
        items = yaml.safe_load(file.read_text()) or []
        kept, dropped = rewrite_cases(items)
        for item in items:
            for where in unknown_paths(item["yaml"]):
                print(f"{file.name}: {item['name']}: kept text at {where}", file=sys.stderr)
        file.write_text(
            header + "\n" + yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, width=100)
        )
        print(f"{file}: {len(kept)} cases, {len(dropped)} duplicates dropped: {dropped}")


if __name__ == "__main__":
    main()
