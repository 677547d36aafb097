"""lifecycle.py: completing the Auto Scaling lifecycle action with the IMDSv2 instance id."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from ingest_worker import lifecycle
from ingest_worker.logs import JsonLog


class _Imds(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_PUT(self):
        assert self.path == "/latest/api/token"
        assert self.headers["X-aws-ec2-metadata-token-ttl-seconds"]
        self._answer(b"tok")

    def do_GET(self):
        ok = self.headers.get("X-aws-ec2-metadata-token") == "tok"
        self._answer(b"i-0123456789abcdef0" if ok else b"", 200 if ok else 401)

    def _answer(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_lifecycle_action_is_completed_with_the_imdsv2_instance_id():
    from botocore.session import get_session
    from botocore.stub import Stubber

    server = HTTPServer(("127.0.0.1", 0), _Imds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = get_session().create_client("autoscaling", region_name="eu-west-1",
                                         aws_access_key_id="a", aws_secret_access_key="b")
    stream = io.StringIO()
    with Stubber(client) as stub:
        stub.add_response("complete_lifecycle_action", {}, {
            "LifecycleHookName": "drain", "AutoScalingGroupName": "asg",
            "LifecycleActionResult": "CONTINUE", "InstanceId": "i-0123456789abcdef0"})
        lifecycle.complete(client, "drain", "asg", JsonLog("INFO", stream=stream),
                           imds_url=f"http://127.0.0.1:{server.server_address[1]}")
        stub.assert_no_pending_responses()
    server.shutdown()
    assert json.loads(stream.getvalue())["event"] == "lifecycle_completed"
