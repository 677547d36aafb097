"""Output and confirmations. Destructive commands ask on the terminal; without one (a pipe, CI)
they refuse unless --yes was given, so nothing destructive runs unattended by accident."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from ops.aws import OpsError


@dataclass
class Console:
    env: str
    assume_yes: bool = False
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    out: TextIO = field(default_factory=lambda: sys.stdout)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def confirm(self, plan: str) -> None:
        """Show what will happen; go on only if the operator types the environment's name."""
        self.say(plan)
        if self.assume_yes:
            self.say("(--yes given: not asking)")
            return
        if not self.stdin.isatty():
            raise OpsError("refusing: this needs confirmation and stdin is not a terminal; "
                           "pass --yes to confirm non-interactively. Nothing was changed.")
        self.out.write(f"Type the environment name ({self.env}) to go on: ")
        self.out.flush()
        if self.stdin.readline().strip() != self.env:
            raise OpsError("not confirmed. Nothing was changed.")
