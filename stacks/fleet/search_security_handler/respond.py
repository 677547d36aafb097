"""Entry point: CloudFormation invokes this function directly (the custom resource's
ServiceToken), so the function answers CloudFormation itself, cfn-response style: one PUT of
the outcome to the event's pre-signed ResponseURL, which the isolated subnets reach through the
S3 gateway endpoint (its policy admits this PUT). Every outcome is answered: success, an
exception (FAILED, naming it) and Lambda's timeout coming (FAILED shortly before it), so a
deployment never waits for an answer that will not come. Standard library only.
"""

from __future__ import annotations

import json
import threading
import urllib.request

if __package__:  # imported by the tests as part of the repository
    from .index import on_event
else:  # in Lambda, the asset's root is on sys.path
    from index import on_event

# CDK's provider framework (used before #24) invoked this function itself and put "..." in
# place of the URL. The old custom resource's Delete, in the deployment that replaces it, still
# comes that way: the framework answers CloudFormation, so only the result is returned.
FRAMEWORK_PLACEHOLDER = "..."
# FAILED is sent this long before Lambda stops the function (more than RESPONSE_TIMEOUT).
SAFETY_MARGIN_SECONDS = 15
RESPONSE_TIMEOUT_SECONDS = 10
# CloudFormation reads at most 4096 bytes of a response.
MAX_REASON_CHARS = 1500


def handler(event: dict, context: object) -> dict | None:
    if event.get("ResponseURL") == FRAMEWORK_PLACEHOLDER:
        return on_event(event, context)
    answer = Answer(event, context)
    seconds_left = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    timer = threading.Timer(max(seconds_left, 0), answer.send, args=(
        "FAILED", f"no result {SAFETY_MARGIN_SECONDS} s before the function's timeout"))
    timer.daemon = True
    timer.start()
    try:
        result = on_event(event, context)
    except Exception as error:  # noqa: BLE001 - every failure must reach CloudFormation
        answer.send("FAILED", f"{type(error).__name__}: {error}")
    else:
        answer.send("SUCCESS", physical_resource_id=result["PhysicalResourceId"])
    finally:
        timer.cancel()
    return None


class Answer:
    """The one response to one request: whichever of the result or the timer comes first."""

    def __init__(self, event: dict, context: object) -> None:
        self._event = event
        self._log_stream = getattr(context, "log_stream_name", "")
        self._lock = threading.Lock()
        self._sent = False

    def send(self, status: str, reason: str = "", physical_resource_id: str | None = None) -> None:
        with self._lock:
            if self._sent:
                return
            self._sent = True
            event = self._event
            if status == "FAILED":
                print(f"FAILED: {reason}")  # the whole reason, in the function's log
                reason = f"{reason[:MAX_REASON_CHARS]} (log stream {self._log_stream})"
            body = json.dumps({
                "Status": status,
                "Reason": reason,
                # A failed Create has none yet; the request id keeps it unique (our Delete
                # sends nothing, so no setting is removed for it).
                "PhysicalResourceId": physical_resource_id or event.get("PhysicalResourceId")
                or event["RequestId"],
                "StackId": event["StackId"],
                "RequestId": event["RequestId"],
                "LogicalResourceId": event["LogicalResourceId"],
            }).encode()
            # The URL was signed without a content type: any other value is refused (403).
            request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                             headers={"Content-Type": ""})
            with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
                response.read()
