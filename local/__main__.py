"""`make local`: the pipeline on this machine until Ctrl-C.

Starts moto's S3 + SQS server and the fake OpenSearch on loopback, creates the bucket, its single
notification, the main queue and the DLQ from the synthesized dev templates, runs the real worker
and shows a live status line. Ctrl-C (or SIGTERM) stops the worker and both servers.
Exit status: 0 stopped on request, 1 the worker stopped by itself, 2 could not start.
"""

from __future__ import annotations

import argparse
import sys
import threading

from local.cli import LOG_DIR, add_common_arguments, error, on_stop_signals, pipeline_from, say
from local.dev_templates import TemplateError
from local.pipeline import LocalError, LocalPipeline

AWS_PORT, SEARCH_PORT = 5050, 9200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, aws_port=AWS_PORT, search_port=SEARCH_PORT, log_dir=LOG_DIR)
    args = parser.parse_args(argv)
    holder: dict[str, LocalPipeline] = {}

    def first(name: str) -> None:
        wait = holder["pipeline"].stop_seconds() - 30 if holder else 20
        say(f"\n{name}: stopping the worker (within 2 s when idle; it finishes what it holds, up "
            f"to {wait:g} s; press Ctrl-C again to kill it)")

    def again(name: str) -> None:
        say(f"{name}: killing the worker")
        if "pipeline" in holder:
            holder["pipeline"].kill_worker()

    stopping = on_stop_signals(first, again)
    try:
        with pipeline_from(args) as pipeline:
            holder["pipeline"] = pipeline
            _introduce(pipeline)
            code = _watch(pipeline, stopping)
            stopped = pipeline.stop()
        say(f"stopped: worker exit code {stopped}, servers closed")
        return code
    except (LocalError, TemplateError) as problem:
        error(str(problem))
        return 2


def _introduce(pipeline: LocalPipeline) -> None:
    assert pipeline.search is not None and pipeline.worker is not None
    assert pipeline.worker_log is not None
    say("Local pipeline (no AWS), as the dev templates declare it:")
    for line in pipeline.spec.describe():
        say("  " + line)
    say(f"S3 + SQS (moto): {pipeline.aws_url}   search (fake OpenSearch): {pipeline.search.url}")
    say(f"worker: pid {pipeline.worker.pid}, log {pipeline.worker_log.path}")
    say("Upload with:")
    say("  " + pipeline.upload_command())
    say("Look a document up (id = sha256 of 'bucket/key'):")
    say(f"  curl -s {pipeline.search.url}/{pipeline.worker_environment()['WORKER_OPENSEARCH_INDEX']}"
        "/_doc/DOCUMENT_ID")
    say("Ctrl-C stops everything.")


def _watch(pipeline: LocalPipeline, stopping: threading.Event) -> int:
    live = sys.stdout.isatty()
    shown = ""
    while not stopping.wait(0.5):
        code = pipeline.worker_exit_code()
        if code is not None:
            error(f"the worker stopped by itself (exit code {code}); see "
                  f"{pipeline.worker_log.path if pipeline.worker_log else 'its log'}")
            return 1
        line = pipeline.status().line()
        if live:
            print("\r" + line + "\x1b[K", end="", flush=True)
        elif line != shown:
            say(line)
        shown = line
    return 0


if __name__ == "__main__":
    sys.exit(main())
