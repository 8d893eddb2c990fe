"""deploy/ and docs/deploy.md: the production files are valid and agree with the code.

Each external checker (systemd-analyze, nginx, promtool, docker-compose) is used when the machine has it and the
test is skipped otherwise; the checks that need nothing but Python always run.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kessai.payments.management.commands.serve import ACCESS_LOG_FORMAT, gunicorn_argv

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOC = ROOT / "docs" / "deploy.md"
KESSAI = [sys.executable, "-m", "kessai.cli"]

# Kessai's own configuration variables (the postgres image's POSTGRES_* and the like are not Kessai's).
ENV_NAME = re.compile(
    r"\b(KESSAI_[A-Z0-9_]+|DJANGO_SECRET_KEY|DATABASE_URL|ALLOWED_HOSTS|CSRF_TRUSTED_ORIGINS|EMAIL_[A-Z_]+"
    r"|DEFAULT_FROM_EMAIL)\b"
)


def deploy_texts() -> dict[str, str]:
    files = [DOC, *(p for p in DEPLOY.rglob("*") if p.is_file())]
    return {str(p.relative_to(ROOT)): p.read_text() for p in files}


def test_every_variable_named_in_the_deploy_docs_and_files_is_read_by_the_settings():
    settings_source = (ROOT / "kessai" / "config" / "settings.py").read_text()
    named = {name: path for path, text in deploy_texts().items() for name in ENV_NAME.findall(text)}
    assert "KESSAI_SECRET_KEYS" in named
    missing = {name: path for name, path in named.items() if f'"{name}"' not in settings_source}
    assert missing == {}


def test_every_metric_named_in_the_deploy_docs_and_alerts_exists():
    sources = "".join(p.read_text() for p in (ROOT / "kessai").rglob("*.py"))
    named = {m for text in deploy_texts().values() for m in re.findall(r"\bkessai_[a-z_]+\b", text)}
    metrics = {re.sub(r"_(bucket|count|sum|total)$", "", m) for m in named}
    metrics -= {"kessai_web", "kessai_restore"}  # nginx's upstream and the restore drill's database
    missing = sorted(m for m in metrics if f'"{m}' not in sources)
    assert missing == []


def test_the_gunicorn_config_file_is_valid(tmp_path: Path):
    env = {**os.environ, "KESSAI_VAR_DIR": str(tmp_path)}
    checked = subprocess.run(
        [*KESSAI, "serve", "--config", str(DEPLOY / "gunicorn.conf.py"), "--check-config"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    printed = subprocess.run(
        [gunicorn, "--config", str(DEPLOY / "gunicorn.conf.py"), "--print-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", printed.stdout, re.MULTILINE))
    assert config["worker_class"] == "gthread"
    assert int(config["workers"]) >= 2
    assert config["threads"] == "8"
    assert config["control_socket_disable"] == "True"
    assert int(config["timeout"]) > 10  # above KESSAI_PROVIDER_TIMEOUT's default


def test_kessai_serve_lets_the_config_file_decide_and_never_logs_query_strings(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "KESSAI_WEB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    config = str(DEPLOY / "gunicorn.conf.py")

    plain = gunicorn_argv("gunicorn", {"port": 9000})
    with_config = gunicorn_argv("gunicorn", {"config": config})
    with_port = gunicorn_argv("gunicorn", {"config": config, "port": 8001, "workers": 3})

    assert plain[plain.index("--bind") + 1] == "127.0.0.1:9000"
    assert plain[plain.index("--workers") + 1] == "2"
    assert "--bind" not in with_config
    assert "--workers" not in with_config
    assert with_config[with_config.index("--config") + 1] == config
    assert with_port[with_port.index("--bind") + 1] == "127.0.0.1:8001"
    assert with_port[with_port.index("--workers") + 1] == "3"
    for argv in (plain, with_config, with_port):
        assert argv[argv.index("--access-logformat") + 1] == ACCESS_LOG_FORMAT
        assert "%(U)s" in ACCESS_LOG_FORMAT
        assert "%(r)s" not in ACCESS_LOG_FORMAT  # the request line would carry ?token=…


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_verify(tmp_path: Path):
    # the units name the production paths; point them at this checkout so ExecStart is executable here
    env_file = tmp_path / "kessai.env"
    env_file.write_text("")
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = (
            unit.read_text()
            .replace("/opt/kessai/current/venv/bin/kessai", str(Path(sys.executable).parent / "kessai"))
            .replace("/opt/kessai/current", str(ROOT))
            .replace("/etc/kessai/kessai.env", str(env_file))
        )
        name = unit.name.replace("@.", "@9201." if "worker" in unit.name else "@atone.")
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    assert len(units) == 4
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, timeout=60, check=False
    )
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pay.example.jp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
@pytest.mark.parametrize("site", ["nginx/kessai.conf", "compose/nginx.conf"])
def test_the_nginx_sites_pass_nginx_t(tmp_path: Path, site: str):
    cert, key = self_signed(tmp_path)
    text = (
        (DEPLOY / site)
        .read_text()
        .replace("/etc/letsencrypt/live/pay.example.jp/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/pay.example.jp/privkey.pem", str(key))
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("/dev/stdout", f"{tmp_path}/access.log")
        .replace("web1:8000", "127.0.0.1:18001")  # compose service names do not resolve here
        .replace("web2:8000", "127.0.0.1:18002")
    )
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    include {tmp_path}/site.conf;\n}}\n"
    )
    checked = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert "location = /metrics" in text


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian: prometheus) is not installed")
def test_the_prometheus_config_and_alert_rules_pass_promtool(tmp_path: Path):
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    for name in ("prometheus.yml", "kessai-alerts.yml"):
        text = (DEPLOY / "prometheus" / name).read_text()
        (tmp_path / name).write_text(text.replace("/etc/prometheus/kessai-metrics-token", str(token)))
    checked = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_compose_file_runs_two_web_and_three_workers_on_one_database(tmp_path: Path):
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "web1", "web2", "worker", "nginx"}
    assert services["worker"]["deploy"]["replicas"] == 3
    assert "--metrics-port" in services["worker"]["command"]
    for name in ("migrate", "web1", "web2", "worker"):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["environment"]["DATABASE_URL"].endswith("@postgres:5432/kessai")
    for name in ("web1", "web2", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert (DEPLOY / "Dockerfile").is_file()
    compose_cli = shutil.which("docker-compose")
    if compose_cli is None:
        return
    env_file = tmp_path / "compose.env"
    env_file.write_text(
        "".join(
            f"{line.rstrip('=')}=x\n"
            for line in (DEPLOY / "compose.env.example").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
    )
    rendered = subprocess.run(
        [compose_cli, "--env-file", str(env_file), "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
