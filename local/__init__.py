"""The pipeline on one machine, without AWS: `make local` (interactive) and `make local-demo`.

    python -m local           moto's S3 + SQS and the fake OpenSearch on loopback, the real worker
    python -m local.demo      the same, unattended: uploads samples/, checks every outcome

Everything the pipeline creates is read from the synthesized dev templates (local/dev_templates.py).
"""
