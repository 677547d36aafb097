"""Deploy-time handler: send OpenSearch security-plugin requests as the domain's master user.

Runs in the VPC (the domain has no public endpoint) with the master role as its execution
role; respond.py is the entry point and answers CloudFormation. Each request is idempotent (PUT or PATCH of a
whole named object), so a retried or repeated deployment converges on the same settings.
Standard library and botocore only (both are in the Lambda Python runtime).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


def on_event(event: dict, context: object) -> dict:
    properties = event["ResourceProperties"]
    endpoint = properties["Endpoint"].rstrip("/")
    if event["RequestType"] != "Delete":
        # Deleting the resource leaves the settings: the domain (or the next deploy) owns them.
        for request in json.loads(properties["Requests"]):
            # Created once: after `ops index migrate` a redeploy must not create v1 again.
            probe = request.get("unless_exists")
            if probe and exists(endpoint, probe):
                continue
            send(endpoint, request["method"], request["path"], request["body"])
    return {"PhysicalResourceId": f"{endpoint}/_plugins/_security"}


def exists(endpoint: str, path: str) -> bool:
    """True if GET path answers 200, False on 404; any other answer raises."""
    try:
        send(endpoint, "GET", path, None)
        return True
    except NotFound:
        return False


class NotFound(RuntimeError):
    pass


def send(endpoint: str, method: str, path: str, body: object) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    signed = AWSRequest(method=method, url=endpoint + path, data=data or b"",
                        headers={"Content-Type": "application/json"})
    credentials = botocore.session.get_session().get_credentials()
    SigV4Auth(credentials, "es", os.environ["AWS_REGION"]).add_auth(signed)
    request = urllib.request.Request(endpoint + path, data=data, method=method,
                                     headers=dict(signed.headers.items()))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:500]
        if error.code == 404:
            raise NotFound(f"{method} {path} answered 404: {detail}") from None
        raise RuntimeError(f"{method} {path} answered {error.code}: {detail}") from None
