"""`netvigil devices` end to end against the test PostgreSQL (CliRunner, real database)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from netvigil.cli.main import cli
from netvigil.db import connect
from netvigil.inventory import get_device
from netvigil.settings import Settings


def _run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)


def test_add_list_show_export_remove(pg_stack: Settings) -> None:
    sfx = uuid.uuid4().hex[:8]
    core, leaf = f"core-{sfx}", f"leaf-{sfx}"
    r = _run(pg_stack, "devices", "add", core, "127.0.0.2", "-c", "topsecretcomm", "--tag", "site=lab",
             "--module", "system", "--module", "interfaces", "--module", "lldp")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = _run(pg_stack, "devices", "add", leaf, "127.0.0.3", "--port", "1161", "-v", "3", "-u", "nms", "-l",
             "authPriv", "-a", "SHA-256", "-A", "authsecret99", "-x", "AES256", "-X", "privsecret99",
             "--parent", core, "--interval", "30")  # fmt: skip
    assert r.exit_code == 0, r.output
    listing = _run(pg_stack, "devices", "list").output + _run(pg_stack, "devices", "list", "--json").output
    shown = _run(pg_stack, "devices", "show", leaf).output
    exported = _run(pg_stack, "devices", "export").output
    for text in (listing, shown, exported):
        assert "topsecretcomm" not in text and "authsecret99" not in text and "privsecret99" not in text
    assert core in listing and leaf in listing
    data = json.loads(shown)
    assert data["parent"] == core and data["credentials"]["auth_proto"] == "SHA256"
    assert data["credentials"]["auth_key"] == "<secret>" and data["poll_interval"] == 30
    with_secrets = _run(pg_stack, "devices", "export", "--with-secrets").output
    assert "authsecret99" in with_secrets
    bad_parent = _run(
        pg_stack, "devices", "add", f"x-{sfx}", "127.0.0.4", "-c", "c", "--parent", f"nope-{sfx}"
    )
    assert bad_parent.exit_code != 0
    assert _run(pg_stack, "devices", "remove", leaf).exit_code == 0
    assert _run(pg_stack, "devices", "remove", core).exit_code == 0
    assert _run(pg_stack, "devices", "show", leaf).exit_code != 0


def test_import_round_trip_keeps_masked_secrets(pg_stack: Settings, tmp_path: Path) -> None:
    sfx = uuid.uuid4().hex[:8]
    f = tmp_path / "devs.yaml"
    f.write_text(f"""
- name: leaf-{sfx}
  address: 127.0.0.12
  parent: core-{sfx}
  credentials: {{version: v2c, community: leafcomm}}
- name: core-{sfx}
  address: 127.0.0.11
  modules: [system, interfaces, lldp]
  tags: {{site: lab, role: core}}
  credentials: {{version: v3, user: nms, auth_proto: SHA, auth_key: authpass123, priv_proto: AES,
                 priv_key: privpass123}}
""")
    r = _run(pg_stack, "devices", "import", str(f))
    assert r.exit_code == 0, r.output
    # Export masked, import it back: stored secrets are kept.
    exported = _run(pg_stack, "devices", "export").output
    mine = [d for d in yaml.safe_load(exported) if sfx in d["name"]]
    assert all(d["credentials"].get("priv_key", "<secret>") == "<secret>" for d in mine)
    f.write_text(yaml.safe_dump(mine))
    r = _run(pg_stack, "devices", "import", str(f))
    assert r.exit_code == 0, r.output
    with connect(pg_stack) as conn:
        core = get_device(conn, f"core-{sfx}")
        leaf = get_device(conn, f"leaf-{sfx}")
        assert core is not None and leaf is not None
        assert core.credentials.priv_key == "privpass123" and leaf.credentials.community == "leafcomm"
        assert leaf.parent == f"core-{sfx}" and core.tags == {"site": "lab", "role": "core"}
    for name in (f"leaf-{sfx}", f"core-{sfx}"):
        _run(pg_stack, "devices", "remove", name)


BAD_FILES = {
    "unknown key": ("- name: a-{s}\n  address: 127.0.0.1\n- name: b-{s}\n  address: 127.0.0.1\n  colour: red\n",
                    "line 3: device 'b-{s}'"),
    "bad value": ("- name: a-{s}\n  address: 127.0.0.1\n  port: http\n", "line 1: device 'a-{s}'"),
    "bad module": ("- name: a-{s}\n  address: 127.0.0.1\n  modules: [system, bogus]\n", "unknown module"),
    "missing parent": ("- name: a-{s}\n  address: 127.0.0.1\n  parent: ghost-{s}\n", "parent 'ghost-{s}'"),
    "short v3 key": ("- name: a-{s}\n  address: 127.0.0.1\n  credentials: {{version: v3, user: u, "
                     "auth_proto: SHA, auth_key: short}}\n", "at least 8"),
    "duplicate": ("- name: a-{s}\n  address: 127.0.0.1\n- name: a-{s}\n  address: 127.0.0.2\n", "duplicate"),
    "not a list": ("name: a-{s}\n", "expected a list"),
    "secret mask, nothing stored": ("- name: a-{s}\n  address: 127.0.0.1\n  credentials: {{version: v2c, "
                                    "community: <secret>}}\n", "no stored value"),
}  # fmt: skip


def test_malformed_imports_are_refused_whole(pg_stack: Settings, tmp_path: Path) -> None:
    for label, (text, expect) in BAD_FILES.items():
        sfx = uuid.uuid4().hex[:8]
        f = tmp_path / "bad.yaml"
        f.write_text(text.format(s=sfx))
        r = _run(pg_stack, "devices", "import", str(f))
        assert r.exit_code != 0, label
        assert expect.format(s=sfx) in r.output and "nothing imported" in r.output, (label, r.output)
        with connect(pg_stack) as conn:
            assert get_device(conn, f"a-{sfx}") is None, label
