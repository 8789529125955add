"""docker compose as shipped: consistent with the package, and its topology run as real processes.

No Docker engine runs here, so the files are checked against what they name (services,
ports, variables, paths, the config they mount), and the same topology (two workers,
one PostgreSQL, a local SMTP server standing in for Mailpit) runs for real.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import config
from tests.receivers import SmtpReceiver

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SERVICES: dict[str, Any] = COMPOSE["services"]
WORKERS = {name: s for name, s in SERVICES.items() if s.get("build") == "."}
MAILPIT_SMTP = 1025  # Mailpit's SMTP port (its web view is 8025)


def worker_config(worker: dict[str, Any]) -> config.Config:
    """The configuration a worker container loads: the mounted file and its environment."""
    mounted = _mounts(worker)
    return config.load(mounted["/config/monitor.yaml"], env=worker["environment"])


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    found = {}
    for volume in service.get("volumes", []):
        host, target, *_ = volume.split(":")
        found[target] = ROOT / host
    return found


def _published(port: str) -> tuple[str, str, str]:
    """(host address, host port, container port) of a ``[ADDRESS:]HOST:CONTAINER`` mapping."""
    parts = port.split(":")
    address = parts[0] if len(parts) == 3 else "0.0.0.0"  # what Docker does
    return address, parts[-2], parts[-1]


def test_compose_runs_two_workers_on_one_postgres_with_mailpit() -> None:
    assert {"postgres", "mailpit"} <= set(SERVICES)
    assert len(WORKERS) >= 2
    published = [_published(p)[1] for w in WORKERS.values() for p in w["ports"]]
    assert len(set(published)) == len(published)  # each status page on its own host port


def test_published_ports_listen_on_loopback_only() -> None:
    # Without an address Docker publishes on every interface, firewall rules bypassed.
    ports = [port for service in SERVICES.values() for port in service.get("ports", [])]
    assert ports and all(_published(port)[0] == "127.0.0.1" for port in ports), ports


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_each_worker_is_consistent_with_the_package(name: str) -> None:
    worker = WORKERS[name]
    known = config.env_names()
    assert set(worker["environment"]) <= set(known), "every variable is a real setting"
    for target, host in _mounts(worker).items():
        assert host.exists(), f"{name} mounts {host}, which is not in the repository"
        assert target.startswith("/config/")
    cfg = worker_config(worker)
    settings = cfg.settings
    # The database is the postgres service, with its credentials.
    pg = SERVICES["postgres"]["environment"]
    assert cfg.database_url == (
        f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{pg['POSTGRES_DB']}"
    )
    # The status page listens where the port mapping and the Dockerfile say.
    assert settings.http.enabled and settings.http.host == "0.0.0.0"
    assert {_published(p)[2] for p in worker["ports"]} == {str(settings.http.port)}
    assert f"EXPOSE {settings.http.port}" in DOCKERFILE
    # Email goes to Mailpit on the compose network.
    emails = [r.email for r in settings.routes if r.email]
    assert emails and all(e.host == "mailpit" and e.port == MAILPIT_SMTP for e in emails)
    # Local feeds are inside a mounted directory.
    mounts = _mounts(worker)
    for feed in settings.feeds:
        path = "/config/" + feed.url
        assert any(path.startswith(target) for target in mounts), feed.url
        assert (ROOT / feed.url).exists()


def test_the_dockerfile_builds_the_package_and_runs_its_command() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = re.search(r"^FROM python:3\.(\d+)", DOCKERFILE, re.MULTILINE)
    assert version and int(version[1]) >= int(project["requires-python"].split(".")[-1])
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"
    assert '"monitor", "--config", "/config/monitor.yaml"' in DOCKERFILE
    assert "monitor" in project["scripts"]
    assert "postgres" in project["optional-dependencies"]


@pytest.mark.skipif(
    subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
    if shutil.which("docker")
    else True,
    reason="no docker compose here",
)
def test_docker_compose_accepts_the_file() -> None:
    subprocess.run(["docker", "compose", "config", "--quiet"], cwd=ROOT, check=True)


@pytest.mark.postgres
def test_the_compose_topology_runs_as_real_processes(tmp_path: Path, postgres_url: str) -> None:
    """Two workers with the compose configuration, PostgreSQL, and an SMTP server for Mailpit."""
    shutil.copytree(ROOT / "corpus" / "feeds", tmp_path / "corpus" / "feeds")
    shutil.copytree(ROOT / "watchlists", tmp_path / "watchlists")
    with SmtpReceiver("none") as smtp:
        text = (ROOT / "docker" / "monitor.yaml").read_text()
        (tmp_path / "monitor.yaml").write_text(
            text.replace("host: mailpit", "host: 127.0.0.1").replace(
                f"port: {MAILPIT_SMTP}", f"port: {smtp.port}"
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env |= {"MONITOR_DATABASE_URL": postgres_url, "MONITOR_POLLING_CHECK_EVERY": "1s"}
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "monitor", "run"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in WORKERS
        ]
        try:
            smtp.wait_for(2, timeout=60)  # the desk digest and the urgent alert
            time.sleep(3)  # both workers run several more checks: nothing may come twice
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            codes = [worker.wait(30) for worker in workers]
        mails = smtp.messages
    assert codes == [0] * len(workers)
    by_route = sorted((m.rcpt_tos[0], str(m.message["Subject"])) for m in mails)
    assert [to for to, _ in by_route] == ["desk@monitor.compose", "duty@monitor.compose"]
    assert "4 stories" in by_route[0][1]
    assert "North Korean troops" in by_route[1][1]
