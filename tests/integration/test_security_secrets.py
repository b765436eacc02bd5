"""Known secrets through the running pipeline: they must show up nowhere but device_credentials.

A private stack (``.local/secrets``, ports 24190-24199) whose database
password is itself a secret; a real snmpd answering only to a secret
community and a v3 user with secret keys; the trap receiver accepting that
community and user; a notifications file with an SMTP password and a webhook
token (both receivers unreachable, so failures -- the usual leak -- are
logged and recorded). Then ``netvigil collect all`` and ``netvigil worker``
(pipeline, rollups, alerting) run for a few polls, traps (a coldStart fires a
rule, so notifications are attempted) and syslog, and the test looks for
every secret in:

* every log file (the processes' and the stack services');
* every record of every Kafka topic of the run;
* every row of every table except ``device_credentials``;
* every page of the app (AppTest, as admin) and the CLI's device/settings output.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ingest.simulate.agents import SnmpdAgent, V3User, free_udp_port
from netvigil.db import connect
from netvigil.inventory import Credentials, Device, upsert_device
from netvigil.settings import Settings, load_settings, project_root

sys.path.insert(0, str(project_root() / "bench"))
from scale_stack import own_env, spawn_netvigil, start_services, stop_proc, stop_services

U = uuid.uuid4().hex[:8]
SECRETS = {
    "community": f"cOmm{U}",
    "auth_key": f"aUth{U}",
    "priv_key": f"pRiv{U}",
    "smtp_password": f"sMtp{U}",
    "webhook_token": f"wHook{U}",
    "db_password": f"dBpw{U}",
    "db_ro_password": f"dBro{U}",
}
ADDRESS = f"127.76.{int(U[:2], 16)}.{int(U[2:4], 16) or 1}"
ENGINE_ID = "0x80001f8880" + U
LOGS = project_root() / ".local" / "secrets" / "logs"
pytestmark = pytest.mark.timeout(240)


def find(text: str | bytes) -> list[str]:
    data = text.decode(errors="replace") if isinstance(text, bytes) else text
    return [name for name, value in SECRETS.items() if value in data]


def _config(tmp: Path) -> Path:
    notifications = tmp / "notifications.yaml"
    notifications.write_text(yaml.safe_dump({
        "retry": {"attempts": 1, "backoff": 0.1, "factor": 1.0, "max_backoff": 1, "timeout": 2},
        "receivers": [
            {"name": "mail", "type": "email", "host": "127.0.0.1", "port": 9, "username": "noc",
             "password": SECRETS["smtp_password"], "to": ["noc@localhost"]},
            {"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:9/hook?token={SECRETS['webhook_token']}",
             "headers": {"Authorization": f"Bearer {SECRETS['webhook_token']}"}},
        ],
        "routes": [{"match": {"min_severity": "info"}, "receivers": ["mail", "hook"]}],
    }))  # fmt: skip
    config = tmp / "netvigil.yaml"
    config.write_text(yaml.safe_dump({
        "collector": {
            "trap_communities": [SECRETS["community"]],
            "trap_v3_users": [{"user": "secuser", "engine_id": ENGINE_ID, "auth_proto": "SHA",
                               "auth_key": SECRETS["auth_key"], "priv_proto": "AES",
                               "priv_key": SECRETS["priv_key"]}],
        },
        "streams": {"notifications_file": str(notifications)},
    }))  # fmt: skip
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Settings]]:
    """The private stack with the pipeline run over it (processes stopped at the end)."""
    env = own_env("secrets", 24190, partitions=2)
    env["NETVIGIL_POSTGRES__DSN"] = env["NETVIGIL_POSTGRES__DSN"].replace(
        ":netvigil@", f":{SECRETS['db_password']}@"
    )
    env["NETVIGIL_POSTGRES__READONLY_DSN"] = env["NETVIGIL_POSTGRES__READONLY_DSN"].replace(
        ":netvigil_ro@", f":{SECRETS['db_ro_password']}@"
    )
    env["NETVIGIL_KAFKA__TOPIC_PREFIX"] = f"sec{U}."
    env["NETVIGIL_STREAMS__APP_ID"] = f"sec-{U}"
    env["NETVIGIL_CONFIG"] = str(_config(tmp_path_factory.mktemp("secrets")))
    s = load_settings(environ=env)
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*.log"):
        old.unlink()
    start_services(s)
    user = V3User("secuser", "SHA", SECRETS["auth_key"], "AES", SECRETS["priv_key"])
    agent = SnmpdAgent(ADDRESS, free_udp_port(ADDRESS), community=SECRETS["community"], users=(user,)).start()
    with connect(s) as conn:
        upsert_device(
            conn,
            Device(
                name=f"sec-v2c-{U}",
                address=ADDRESS,
                port=agent.port,
                poll_interval=2.0,
                credentials=Credentials(version="v2c", community=SECRETS["community"]),
            ),
        )
        upsert_device(
            conn,
            Device(
                name=f"sec-v3-{U}",
                address=ADDRESS,
                port=agent.port,
                poll_interval=2.0,
                credentials=Credentials(
                    version="v3",
                    user="secuser",
                    level="authPriv",
                    auth_proto="SHA",
                    auth_key=SECRETS["auth_key"],
                    priv_proto="AES",
                    priv_key=SECRETS["priv_key"],
                ),
            ),
        )
        conn.commit()  # fmt: skip
    agents = (
        "streams.agents.pipeline:register,streams.agents.rollups:register,streams.alerting.agents:register"
    )
    procs = [
        spawn_netvigil(
            env, ["worker", "--agents", agents, "--data-dir", str(LOGS / "worker")], LOGS / "worker.log"
        ),
        spawn_netvigil(env, ["collect", "all"], LOGS / "collect.log"),
    ]
    try:
        _traffic(s)
        yield env, s
    finally:
        for p in procs:
            stop_proc(p)
        agent.stop()
        stop_services(s)


def _counts(s: Settings) -> tuple[int, ...]:
    with connect(s) as conn:
        row = conn.execute(
            "SELECT (SELECT count(DISTINCT x.device) FROM metric_samples m JOIN series x ON x.id = m.series_id"
            "        WHERE x.device LIKE %s),"
            " (SELECT count(*) FROM traps), (SELECT count(*) FROM syslog_messages), (SELECT count(*) FROM alerts)",
            (f"sec-%-{U}",),
        ).fetchone()  # fmt: skip
    assert row is not None
    return tuple(int(v) for v in row)


def _wait(s: Settings, done: Callable[[tuple[int, ...]], bool], what: str, limit_s: float = 90) -> None:
    deadline = time.monotonic() + limit_s
    got: tuple[int, ...] = ()
    while time.monotonic() < deadline:
        got = _counts(s)
        if done(got):
            return
        time.sleep(1)
    raise AssertionError(f"{what}: (devices polled, traps, syslog, alerts) = {got}; see {LOGS}")


def _traffic(s: Settings) -> None:
    """Polls of both devices first (the worker and its alerting consumer are running), then events."""
    _wait(s, lambda c: c[0] == 2, "polls of both devices not stored")
    time.sleep(3)
    target = f"127.0.0.1:{s.collector.trap_port}"
    v3 = ["-v", "3", "-e", ENGINE_ID, "-u", "secuser", "-l", "authPriv", "-a", "SHA", "-A", SECRETS["auth_key"],
          "-x", "AES", "-X", SECRETS["priv_key"]]  # fmt: skip
    for args in (["-v", "2c", "-c", SECRETS["community"]], v3):
        subprocess.run(["snmptrap", *args, target, "", "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.2.1.1.5.0", "s", "sec"],
                       check=True, env=dict(os.environ, MIBS=""), capture_output=True)  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # severity 2: the syslog-critical rule
        sock.sendto(f"<10>Nov 25 01:00:00 sec-v2c-{U} app: failure {U}".encode(),
                    ("127.0.0.1", s.collector.syslog_udp_port))  # fmt: skip
    _wait(s, lambda c: c[1] >= 2 and c[2] >= 1 and c[3] >= 1, "traps, syslog or an alert not stored")
    time.sleep(5)  # notification attempts and their failures get logged and recorded


def test_no_secret_in_any_log(run: tuple[dict[str, str], Settings]) -> None:
    _, s = run
    files = [*LOGS.glob("*.log"), *s.stack_home().glob("*/*.log")]
    assert len(files) >= 5, files
    leaks = {str(f): find(f.read_bytes()) for f in files}
    assert {f: v for f, v in leaks.items() if v} == {}


async def test_no_secret_in_any_kafka_record(run: tuple[dict[str, str], Settings]) -> None:
    _, s = run
    admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka.bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(s.kafka.topic_prefix)]
        meta = await admin.describe_topics(topics)
    finally:
        await admin.close()
    parts = [TopicPartition(m["topic"], p["partition"]) for m in meta for p in m["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    seen, leaks = 0, []
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        left = {tp for tp in parts if ends[tp] > 0}
        while left:
            for tp, msgs in (await consumer.getmany(timeout_ms=2000)).items():
                for m in msgs:
                    seen += 1
                    leaks += [(tp.topic, name) for name in find((m.key or b"") + b" " + (m.value or b""))]
                if msgs and msgs[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
    finally:
        await consumer.stop()
    assert {t.removeprefix(s.kafka.topic_prefix) for t in topics} >= {"poll", "trap", "syslog", "metrics"}
    assert seen > 0 and leaks == []


def test_no_secret_in_any_row_outside_device_credentials(run: tuple[dict[str, str], Settings]) -> None:
    _, s = run
    leaks = {}
    with connect(s) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        ).fetchall()]  # fmt: skip
        creds = conn.execute("SELECT t::text FROM device_credentials t").fetchall()
        for table in tables:
            if table == "device_credentials":
                continue
            rows = conn.execute(f'SELECT t::text FROM "{table}" t').fetchall()
            hits = sorted({n for (text,) in rows for n in find(text)})
            if hits:
                leaks[table] = hits
    assert any(find(text) for (text,) in creds), "device_credentials should hold the SNMP secrets"
    assert leaks == {}


def test_no_secret_in_cli_output(run: tuple[dict[str, str], Settings]) -> None:
    env, _ = run
    for args in (
        ["devices", "list"],
        ["devices", "show", f"sec-v3-{U}"],
        ["devices", "export"],
        ["settings"],
    ):
        proc = subprocess.run([sys.executable, "-m", "netvigil.cli", *args], env=env, capture_output=True, text=True,
                              check=False, timeout=60)  # fmt: skip
        assert proc.returncode == 0, (args, proc.stderr[-500:])
        assert find(proc.stdout + proc.stderr) == [], args


def _texts(node: object) -> list[str]:
    """Every element's protobuf as text (values, labels, tables, chart specs)."""
    out = []
    proto = getattr(node, "proto", None)
    if proto is not None:
        out.append(str(proto))
    children = getattr(node, "children", None) or {}
    for child in children.values():
        out += _texts(child)
    return out


def test_no_secret_on_any_app_page(
    run: tuple[dict[str, str], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    env, _ = run
    for k in [k for k in os.environ if k.startswith("NETVIGIL_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        if k.startswith("NETVIGIL_"):
            monkeypatch.setenv(k, v)
    st.cache_resource.clear()
    st.cache_data.clear()
    main = str(project_root() / "app_streamlit" / "main.py")
    pages = sorted(
        p.stem for p in (project_root() / "app_streamlit" / "views").glob("*.py") if p.stem != "login"
    )
    rendered = 0
    try:
        for page in pages:
            at = AppTest.from_file(main, default_timeout=60)
            at.session_state["user"] = f"sec-admin-{U}"
            at.session_state["role"] = "admin"
            if page == "devices":
                at.query_params["device"] = f"sec-v3-{U}"
            at.run()
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (page, at.exception)
            text = "\n".join(_texts(at._tree))
            assert len(text) > 200, page
            rendered += 1
            assert find(text) == [], page
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
    assert rendered == len(pages)
