"""Whatever the secrets are, the masked settings and the credentials' repr never show them.

Property-based (hypothesis): random secrets in every secret-bearing setting
(database and Redis URLs, trap communities, trap v3 keys, app password
hashes) and in device credentials; the text an operator or a log line could
see must contain none of them.
"""

from __future__ import annotations

import string

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from netvigil.inventory import Credentials
from netvigil.settings import TrapV3User, load_settings

SECRET = st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=40)


@settings(max_examples=200, deadline=None)
@given(db=SECRET, ro=SECRET, rd=SECRET, community=SECRET, auth=SECRET, priv=SECRET, pwhash=SECRET)
def test_masked_settings_show_no_secret(
    db: str, ro: str, rd: str, community: str, auth: str, priv: str, pwhash: str
) -> None:
    s = load_settings(
        environ={
            "NETVIGIL_POSTGRES__DSN": f"postgresql://nv:{db}@db:5432/nv",
            "NETVIGIL_POSTGRES__READONLY_DSN": f"postgresql://nv_ro:{ro}@db:5432/nv",
            "NETVIGIL_REDIS__URL": f"redis://:{rd}@cache:6379/0",
        }
    )
    user = TrapV3User(
        user="u", engine_id="0x80", auth_proto="SHA", auth_key=auth, priv_proto="AES", priv_key=priv
    )
    s = msgspec.structs.replace(
        s,
        collector=msgspec.structs.replace(s.collector, trap_communities=[community], trap_v3_users=[user]),
        app=msgspec.structs.replace(s.app, users={"ops": {"password_hash": pwhash, "role": "admin"}}),
    )
    text = repr(s.masked())
    for secret in (db, ro, rd, community, auth, priv, pwhash):
        assert secret not in text


@settings(max_examples=200, deadline=None)
@given(community=SECRET, auth=SECRET, priv=SECRET)
def test_credentials_repr_shows_no_secret(community: str, auth: str, priv: str) -> None:
    for creds in (
        Credentials(version="v2c", community=community),
        Credentials(
            version="v3",
            user="u",
            level="authPriv",
            auth_proto="SHA",
            auth_key=auth,
            priv_proto="AES",
            priv_key=priv,
        ),
    ):
        for text in (repr(creds), str(creds), f"{creds}"):
            assert community not in text and auth not in text and priv not in text
