"""compose.yaml, Dockerfile and .env.example agree with Settings (issue 8 items 1, 2 and 6).

No Docker engine runs here; the files are checked by parsing them, by `docker compose config`
where the compose plugin is installed, and the failure mode of an unreachable Qdrant is driven
through the real CLI.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from assistant.config import Settings
from ui.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
SERVICES = {"qdrant", "sglang", "postgres", "app"}
SECRET_VARS = ("POSTGRES_PASSWORD", "QDRANT_API_KEY", "SGLANG_API_KEY")

runner = CliRunner()


def settings_env_names(model: type[BaseModel] = Settings, prefix: str = "GUIDECITE_") -> set[str]:
    """Every GUIDECITE_* variable Settings reads, nested groups joined with `__`."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        names.add(env)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= settings_env_names(annotation, prefix=f"{env}__")
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_has_the_four_services_with_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= SERVICES
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "/readyz" in " ".join(services["qdrant"]["healthcheck"]["test"])
    assert "/health" in " ".join(services["sglang"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["qdrant"]["image"].startswith("qdrant/qdrant:")
    assert "lmsysorg/sglang" in services["sglang"]["image"]
    assert services["app"]["build"]["dockerfile"] == "Dockerfile"
    # Named volumes keep data across `docker compose down`.
    for name, mount in (
        ("qdrant", "/qdrant/storage"),
        ("postgres", "/var/lib/postgresql/data"),
        ("sglang", "/root/.cache/huggingface"),
        ("app", "/data"),
    ):
        volumes = services[name]["volumes"]
        named = [v.split(":")[0] for v in volumes if v.split(":")[1] == mount]
        assert named and named[0] in compose["volumes"], (name, volumes)


def test_profiles_split_gpu_and_cpu(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["sglang"]["profiles"] == ["gpu"]
    assert services["app"]["profiles"] == ["gpu"]
    cpu_apps = [n for n, s in services.items() if s.get("profiles") == ["cpu"]]
    assert cpu_apps == ["app-cpu"]
    cpu = services["app-cpu"]
    assert cpu["environment"]["GUIDECITE_LLM__BASE_URL"] == ""
    assert "sglang" not in cpu["depends_on"]
    # Backing services run under either profile.
    assert "profiles" not in services["qdrant"] and "profiles" not in services["postgres"]
    for app_name in ("app", "app-cpu"):
        depends = services[app_name]["depends_on"]
        assert all(d["condition"] == "service_healthy" for d in depends.values()), app_name
    assert set(services["app"]["depends_on"]) == {"qdrant", "postgres", "sglang"}


def test_sglang_command_and_gpu_reservation(compose: dict[str, Any]) -> None:
    sglang = compose["services"]["sglang"]
    command = " ".join(sglang["command"])
    for fragment in (
        "-m sglang.launch_server",
        "--model-path ${DEEPSEEK_MODEL:-deepseek-ai/DeepSeek-R1-Distill-Qwen-7B}",
        "--reasoning-parser deepseek-r1",
        "--grammar-backend xgrammar",
        "--host 0.0.0.0",
        "--port 30000",
        "--tp ${SGLANG_TP:-1}",
    ):
        assert fragment in command
    device = sglang["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    # The app asks for the model SGLang serves (Settings' default is the same distill).
    assert compose["services"]["app"]["environment"]["GUIDECITE_LLM__MODEL"].endswith(
        f":-{Settings().llm.model}}}"
    )


def test_every_guidecite_variable_is_a_settings_field(compose: dict[str, Any]) -> None:
    known = settings_env_names()
    assert {"GUIDECITE_LLM__BASE_URL", "GUIDECITE_RETRIEVAL__SHARD_NUMBER"} <= known
    used: set[str] = set()
    for service in compose["services"].values():
        used |= {k for k in service.get("environment", {}) if k.startswith("GUIDECITE_")}
    text = COMPOSE.read_text(encoding="utf-8") + ENV_EXAMPLE.read_text(encoding="utf-8")
    text += DOCKERFILE.read_text(encoding="utf-8")
    # Interpolations and .env.example keys too, minus the image tag and port compose itself uses.
    used |= set(re.findall(r"\bGUIDECITE_[A-Z0-9_]+", text)) - {
        "GUIDECITE_IMAGE_TAG",
        "GUIDECITE_PORT",
    }
    unknown = sorted(used - known)
    assert unknown == [], f"not Settings fields: {unknown}"
    app_env = compose["services"]["app"]["environment"]
    assert app_env["GUIDECITE_QDRANT_URL"] == "http://qdrant:6333"
    assert app_env["GUIDECITE_LLM__BASE_URL"] == "http://sglang:30000/v1"
    assert app_env["GUIDECITE_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_compose_holds_no_secrets_and_env_example_lists_them(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for var in SECRET_VARS:
        # Required from .env (compose refuses to start without it), never given a default.
        assert f"${{{var}:?" in text and f"${{{var}:-" not in text, var
    assert "${GUIDECITE_AUDIT__CHECKPOINT_KEY:?" in text
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    for var in (*SECRET_VARS, "GUIDECITE_AUDIT__CHECKPOINT_KEY"):
        assert example[var].startswith("change-me"), var
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored and "!.env.example" in ignored


def test_dockerfile_cpu_torch_non_root_and_serve() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim", text, re.MULTILINE)
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert 'CMD ["guidecite", "serve", "--host", "0.0.0.0"]' in text
    assert '".[postgres]"' in text


def test_docker_compose_config_accepts_both_profiles(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client installed")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"docker compose plugin absent: {probe.stderr.strip() or probe.stdout}")
    for profile in ("cpu", "gpu"):
        out = subprocess.run(
            [
                docker,
                "compose",
                "--env-file",
                str(ENV_EXAMPLE),
                "-f",
                str(COMPOSE),
                "--profile",
                profile,
                "config",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        assert out.returncode == 0, out.stderr
        rendered = yaml.safe_load(out.stdout)
        expected = {"qdrant", "postgres"} | ({"app-cpu"} if profile == "cpu" else {"app", "sglang"})
        assert set(rendered["services"]) == expected


def test_unreachable_qdrant_url_exits_4_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:1"
    monkeypatch.setenv("GUIDECITE_QDRANT_URL", url)
    result = runner.invoke(app, ["docs", "list"])
    assert result.exit_code == 4, result.output
    assert url in result.stderr
    assert "GUIDECITE_QDRANT_URL" in result.stderr
    assert result.stdout == ""
