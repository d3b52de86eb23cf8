#!/usr/bin/env python3
"""Writes vectors.json beside this file: AWS Signature Version 4 test vectors made by botocore's
reference signer (botocore.auth.SigV4Auth), for Sluice's own SigV4 signer to match byte for byte.

Regenerate (from the repository root, after tools/bootstrap):

    .venv/bin/python Tests/Fixtures/sigv4/generate.py

The output depends only on the botocore version pinned in tools/requirements.txt (and, for the
gzip case, on zlib's deflate output, which is stored in the file as base64 anyway): credentials
and the signing time are fixed, 2026-11-25 12:00:00 UTC.

Each case of vectors.json (a JSON list, keys sorted):
  name, description, service, region, method
  url            the URL as sent on the wire: scheme, host[:port], percent-encoded path, and the
                 query with every byte but A-Z a-z 0-9 - _ . ~ percent-encoded (UTF-8, upper-case
                 hex, space as %20), in the order given (the signer sorts it)
  query          the same query decoded: a list of [name, value]
  headers        the headers given to the signer (name -> value). The signer adds the rest:
                 host (from the URL; with the port unless it is the scheme's default),
                 X-Amz-Date, and X-Amz-Security-Token when there is a session token
  body_base64    the exact body bytes
  access_key_id, secret_access_key, session_token (null when none)
  expected:
    canonical_request, string_to_sign, signed_headers, signature, authorization,
    x_amz_date, x_amz_security_token (or null), x_amz_content_sha256 (or null),
    headers_after_signing (every header of the signed request except host, name -> value)

What botocore does, and so what the vectors pin down:
  - Path: the URL's (already percent-encoded) path, with . and .. segments and empty segments
    removed, is percent-encoded once more, keeping only / and ~ and unreserved characters:
    so for every service but s3 it is double-encoded (%3A becomes %253A), and a raw * or , in a
    path becomes %2A / %2C.
  - Query from the URL: split on & and the first =, sorted by (name, value) as they are, and NOT
    re-encoded: whatever the URL has is signed. A raw * or , would be signed raw, but AWS
    rebuilds the canonical query from the decoded parameters, encoded as above (%2A, %2C, %20).
    So the URLs here carry the query already encoded that way, and the script checks that
    botocore, given the same parameters decoded (request.params, which it does encode with
    quote(safe='-_.~')), makes the same canonical request.
  - Payload hash: for es and aoss the script sets X-Amz-Content-SHA256 (hex SHA-256 of the body
    bytes as sent: for gzip, of the compressed bytes) before signing; botocore then signs that
    header and uses its value as the payload hash. For other services (secretsmanager) botocore
    adds no such header, but still puts the body's SHA-256 last in the canonical request.
  - Header values: leading and trailing spaces removed and runs of spaces squeezed to one;
    names lower-cased and sorted; all given headers are signed (botocore skips only hop-by-hop
    ones like connection, expect, user-agent, which no case uses).
"""

import base64
import datetime
import gzip
import hashlib
import json
import logging
import sys
from pathlib import Path
from unittest import mock
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = (
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQExampleSessionToken+abc/def=="
)
SIGNING_TIME = datetime.datetime(2026, 11, 25, 12, 0, 0)  # naive UTC, as botocore uses it
X_AMZ_DATE = "20261125T120000Z"

ES_HOST = "https://search-sluice-abc123def456.us-east-1.es.amazonaws.com"
AOSS_HOST = "https://abc123def456ghi789jk.eu-west-1.aoss.amazonaws.com"
SECRETS_HOST = "https://secretsmanager.us-east-1.amazonaws.com"

BULK_NDJSON = (
    b'{"create":{"_index":"lambda-platform-2026.11.25","_id":"0000000000000001"}}\n'
    b'{"@timestamp":"2026-11-25T11:59:58.123Z","type":"platform.start",'
    b'"record":{"requestId":"8f5d7c1e-2b3a-4c5d-9e8f-0a1b2c3d4e5f","version":"$LATEST"}}\n'
    b'{"create":{"_index":"lambda-function-2026.11.25","_id":"0000000000000002"}}\n'
    b'{"@timestamp":"2026-11-25T11:59:58.456Z","type":"function",'
    b'"record":"START RequestId: 8f5d7c1e Version: $LATEST \\u00e9\\t"}\n'
)
FILTER_PATH = "errors,items.*.status,items.*.error.type,items.*.error.reason"
INDEX_BODY = (
    b'{"mappings":{"properties":{"@timestamp":{"type":"date"},"type":{"type":"keyword"},'
    b'"record":{"type":"object","enabled":false}}}}'
)


def encode_component(text):
    """SigV4's URI encoding: everything but unreserved characters, UTF-8, upper-case hex."""
    return quote(text, safe="-_.~")


def wire_url(base, path, query):
    url = base + path
    if query:
        url += "?" + "&".join(f"{encode_component(k)}={encode_component(v)}" for k, v in query)
    return url


def case(name, description, service, region, method, base, path, query, headers, body, token):
    return {
        "name": name,
        "description": description,
        "service": service,
        "region": region,
        "method": method,
        "url": wire_url(base, path, query),
        "query": [list(pair) for pair in query],
        "headers": headers,
        "body": body,
        "session_token": token,
    }


def cases():
    sha = lambda body: hashlib.sha256(body).hexdigest()  # noqa: E731
    gzipped = gzip.compress(BULK_NDJSON, compresslevel=6, mtime=0)
    search_query = [
        ("q", "type:platform.report AND record.status:timeout, error"),
        ("filter_path", "hits.total,hits.hits._id,items.*.error"),
        ("size", "10"),
        ("_source_includes", "@timestamp,type"),
        ("track_total_hits", "true"),
        ("routing", "caf\u00e9 \u2603"),
    ]
    get_secret = b'{"SecretId":"sluice/opensearch"}'
    return [
        case(
            "es-bulk-ndjson",
            "es: POST /_bulk with an NDJSON body, no session token",
            "es", "us-east-1", "POST", ES_HOST, "/_bulk", [],
            {"Content-Type": "application/x-ndjson", "X-Amz-Content-SHA256": sha(BULK_NDJSON)},
            BULK_NDJSON, None,
        ),
        case(
            "es-bulk-gzip-filter-path",
            "es: POST /_bulk?filter_path=... with a gzip body (Content-Encoding: gzip, gzip mtime 0);"
            " the payload hash is of the compressed bytes",
            "es", "us-east-1", "POST", ES_HOST, "/_bulk", [("filter_path", FILTER_PATH)],
            {
                "Content-Type": "application/x-ndjson",
                "Content-Encoding": "gzip",
                "X-Amz-Content-SHA256": sha(gzipped),
            },
            gzipped, None,
        ),
        case(
            "aoss-bulk-session-token",
            "aoss (OpenSearch Serverless): POST /_bulk with an NDJSON body and a session token",
            "aoss", "eu-west-1", "POST", AOSS_HOST, "/_bulk", [("filter_path", FILTER_PATH)],
            {"Content-Type": "application/x-ndjson", "X-Amz-Content-SHA256": sha(BULK_NDJSON)},
            BULK_NDJSON, SESSION_TOKEN,
        ),
        case(
            "es-put-index",
            "es: PUT /lambda-platform with a JSON body (index creation with mappings)",
            "es", "us-east-1", "PUT", ES_HOST, "/lambda-platform", [],
            {"Content-Type": "application/json", "X-Amz-Content-SHA256": sha(INDEX_BODY)},
            INDEX_BODY, None,
        ),
        case(
            "es-get-search-query-encoding",
            "es: GET with a query that needs encoding (spaces, commas, *, :, non-ASCII), given"
            " unsorted; empty body, with a session token",
            "es", "us-east-1", "GET", ES_HOST, "/lambda-function-2026.11.25/_search", search_query,
            {"X-Amz-Content-SHA256": sha(b"")},
            b"", SESSION_TOKEN,
        ),
        case(
            "es-get-doc-path-encoding",
            "es: GET a document whose id needs encoding in the path (wire path"
            " /lambda-platform/_doc/r1%3A7%20x): the canonical path is encoded twice",
            "es", "us-east-1", "GET", ES_HOST, "/lambda-platform/_doc/r1%3A7%20x", [],
            {"X-Amz-Content-SHA256": sha(b"")},
            b"", None,
        ),
        case(
            "es-bulk-local-port",
            "es against a local endpoint: http://127.0.0.1:45678, the host header keeps the port",
            "es", "us-east-1", "POST", "http://127.0.0.1:45678", "/_bulk", [("refresh", "true")],
            {"Content-Type": "application/x-ndjson", "X-Amz-Content-SHA256": sha(BULK_NDJSON)},
            BULK_NDJSON, None,
        ),
        case(
            "secretsmanager-get-secret-value",
            "secretsmanager: POST / GetSecretValue (JSON 1.1 protocol) with a session token;"
            " botocore adds no X-Amz-Content-SHA256 here",
            "secretsmanager", "us-east-1", "POST", SECRETS_HOST, "/", [],
            {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"},
            get_secret, SESSION_TOKEN,
        ),
    ]


def sign(spec, use_params):
    credentials = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, spec["session_token"])
    url = spec["url"]
    params = None
    if use_params:
        parts = urlsplit(url)
        url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        params = [tuple(pair) for pair in spec["query"]] or None
    request = AWSRequest(
        method=spec["method"], url=url, headers=dict(spec["headers"]), data=spec["body"], params=params
    )
    signer = SigV4Auth(credentials, spec["service"], spec["region"])
    # The canonical request and string to sign exactly as add_auth makes them: it logs both.
    captured = {}
    handler = _Capture(captured)
    logger = logging.getLogger("botocore.auth")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNING_TIME):
            signer.add_auth(request)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return request, signer, captured["CanonicalRequest"], captured["StringToSign"]


class _Capture(logging.Handler):
    def __init__(self, into):
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record):
        label = str(record.msg).split(":", 1)[0]
        if label in ("CanonicalRequest", "StringToSign") and record.args:
            self.into[label] = record.args[0]


def build(spec):
    request, signer, canonical_request, string_to_sign = sign(spec, use_params=False)
    if spec["query"]:
        _, _, from_params, _ = sign(spec, use_params=True)
        if from_params != canonical_request:
            sys.exit(f"{spec['name']}: canonical request from the URL and from params differ")
    headers = dict(request.headers.items())
    authorization = headers["Authorization"]
    if headers.get("X-Amz-Date") != X_AMZ_DATE:
        sys.exit(f"{spec['name']}: X-Amz-Date is {headers.get('X-Amz-Date')}, not {X_AMZ_DATE}")
    signed_headers = authorization.split("SignedHeaders=")[1].split(",")[0]
    signature = authorization.split("Signature=")[1]
    if signature != signer.signature(string_to_sign, request):
        sys.exit(f"{spec['name']}: signature does not match the string to sign")
    if hashlib.sha256(canonical_request.encode()).hexdigest() != string_to_sign.split("\n")[-1]:
        sys.exit(f"{spec['name']}: string to sign is not of the canonical request")
    content_sha = headers.get("X-Amz-Content-SHA256")
    if spec["service"] in ("es", "aoss") and "x-amz-content-sha256" not in signed_headers.split(";"):
        sys.exit(f"{spec['name']}: x-amz-content-sha256 is not signed")
    out = dict(spec)
    out["body_base64"] = base64.b64encode(out.pop("body")).decode()
    out["access_key_id"] = ACCESS_KEY_ID
    out["secret_access_key"] = SECRET_ACCESS_KEY
    out["expected"] = {
        "canonical_request": canonical_request,
        "string_to_sign": string_to_sign,
        "signed_headers": signed_headers,
        "signature": signature,
        "authorization": authorization,
        "x_amz_date": headers["X-Amz-Date"],
        "x_amz_security_token": headers.get("X-Amz-Security-Token"),
        "x_amz_content_sha256": content_sha,
        "headers_after_signing": headers,
    }
    return out


def main():
    vectors = [build(spec) for spec in cases()]
    path = Path(__file__).resolve().parent / "vectors.json"
    path.write_text(json.dumps(vectors, indent=2, sort_keys=True, ensure_ascii=True) + "\n")
    print(f"wrote {len(vectors)} cases to {path.name}")


if __name__ == "__main__":
    main()
