"""Operations CLI for the file-search ingestion pipeline: `python -m ops --help`.

The incident runbook's emergency scripts (diagnosis, stop, purge, recovery) and its daily
diagnosis as one tested command. Resources are found from the deployed stacks' outputs
(`contract/outputs.py` is the contract); declared values come from the synthesized templates.
Nothing here imports the CDK app or the worker.
"""
