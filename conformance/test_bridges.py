"""AWS SigV4 in retrieve mode: the official SDK's own signer against altervault-dev's AWS stand-in.

The stand-in (vaulttest.NewSigV4Upstream) checks each signature from what it received, so these
tests show that the SDK's signer and vaulttest's verifier (which the Go facade's signatures also
pass) agree on the canonical request: paths with escapes, queries with "+" and "~", bodies, JSON.
"""

from __future__ import annotations

import re

from alter_sdk import App, ProviderAPIError

from support import Dev, audit_row, echo, echo_header, env, unique

SCOPE = re.compile(r"^AWS4-HMAC-SHA256 Credential=AKIA[A-Z0-9]{16}/\d{8}/us-east-1/s3/aws4_request, SignedHeaders=")


async def test_sigv4_put_with_escaped_key_and_body(app: App, dev: Dev) -> None:
    url = f"{env('ALTER_AWS_UPSTREAM_URL')}/backups/{unique('k')}%20a%2Bb.txt"
    resp = await app.request("PUT", url, grant_id=env("ALTER_AWS_GRANT_ID"), body=b"hello s3",
                             extra_headers={"Content-Type": "text/plain"}, reason="sigv4 put")
    seen = echo(resp)
    assert seen["method"] == "PUT" and seen["body"] == "hello s3"
    assert SCOPE.match(echo_header(seen, "Authorization") or "")
    row = await audit_row(dev, url=url, reason="sigv4 put")
    assert row["response_status"] == 200 and row["grant_id"] == env("ALTER_AWS_GRANT_ID")
    assert not {k.lower() for k in row["request_headers"]} & {"authorization", "x-amz-date", "x-amz-content-sha256"}


async def test_sigv4_query_plus_tilde_and_bare_key(app: App) -> None:
    url = f"{env('ALTER_AWS_UPSTREAM_URL')}/backups?list-type=2&prefix=a+b&c=%7E&d"
    seen = echo(await app.request("GET", url, grant_id=env("ALTER_AWS_GRANT_ID")))
    assert seen["query"]["list-type"] == "2"


async def test_sigv4_json_body_and_query_params(app: App) -> None:
    url = f"{env('ALTER_AWS_UPSTREAM_URL')}/backups/{unique('j')}.json?keep=1"
    seen = echo(await app.request("POST", url, grant_id=env("ALTER_AWS_GRANT_ID"), json={"a": 1, "b": "ü"},
                                  query_params={"tagging": "x y"}))
    assert seen["query"] == {"keep": "1", "tagging": "x y"}
    assert echo_header(seen, "Content-Type") == "application/json"


async def test_sigv4_rejected_signature_is_the_providers_403(user_app: App) -> None:
    # The Bearer grant's credential signed nothing: the stand-in answers AWS's XML AccessDenied.
    try:
        await user_app.request("GET", f"{env('ALTER_AWS_UPSTREAM_URL')}/backups", grant_id=env("ALTER_GRANT_ID"))
    except ProviderAPIError as e:
        assert e.status_code == 403 and "AccessDenied" in (e.response_body or "")
    else:
        raise AssertionError("the stand-in accepted an unsigned request")
