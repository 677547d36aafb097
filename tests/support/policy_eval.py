"""A small evaluator of resource policies (SNS topic policies, KMS key policies) as synthesized.

Enough of IAM's logic to answer "may this principal call this action on this resource with this
request context?" for the statements this app writes: an explicit Deny wins, otherwise one
matching Allow is needed. Principals `*`, `{"AWS": ...}` and `{"Service": ...}`; Action and
Resource with `*` / `?` wildcards; the condition operators String*, Arn*, Bool with their
`IfExists` forms (keys ANDed, values ORed, a missing key fails unless `IfExists`).

Template values are CloudFormation intrinsics; `resolve` turns them into strings with the pseudo
parameters and the references a test supplies, and fails on anything it does not know rather
than guessing.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "eu-west-1"
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws",
          "AWS::URLSuffix": "amazonaws.com"}


def resolve(value: object, refs: dict[str, str]) -> object:
    """Strings and lists of strings, with Ref, Fn::GetAtt, Fn::Join and Fn::GetStackOutput
    resolved from PSEUDO and `refs` (logical ID, `ID.Attr` or output name -> value)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return PSEUDO.get(arg) or _lookup(refs, arg)
        if fn == "Fn::GetAtt":
            return _lookup(refs, ".".join(arg) if isinstance(arg, list) else arg)
        if fn == "Fn::Join":
            return arg[0].join(str(resolve(v, refs)) for v in arg[1])
        if fn == "Fn::GetStackOutput":
            return _lookup(refs, arg["OutputName"])
        if fn == "Fn::ImportValue":
            return _lookup(refs, str(resolve(arg, refs)))
    if isinstance(value, dict):
        return {k: resolve(v, refs) for k, v in value.items()}
    raise ValueError(f"cannot resolve {value!r}")


def _lookup(refs: dict[str, str], name: str) -> str:
    if name not in refs:
        raise KeyError(f"no value given for reference {name!r}; known: {sorted(refs)}")
    return refs[name]


@dataclass(frozen=True)
class Request:
    """One call: who makes it, what, on which resource, with which condition keys present."""

    principal: dict[str, str]  # {"Service": "cloudwatch.amazonaws.com"} or {"AWS": "arn:..."}
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    # A statement naming the caller's account root (`arn:...:iam::<acct>:root`) only delegates
    # to IAM: it matches when the caller's own identity policy allows the action too.
    identity_policy_allows: bool = False


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    # IAM's `*` and `?` (no character classes: escape `[` so fnmatch reads it literally).
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _principal_matches(spec: object, principal: dict[str, str], identity_allows: bool) -> bool:
    if spec == "*" or spec == {"AWS": "*"}:
        return True
    if not isinstance(spec, dict):
        raise ValueError(f"unsupported Principal {spec!r}")
    for kind, values in spec.items():
        for value in _as_list(values):
            if kind == "AWS" and principal.get("AWS"):
                account_root = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root", value)
                caller_account = principal["AWS"].split(":")[4]
                if value == principal["AWS"]:
                    return True
                if (value == caller_account or (account_root and account_root[1] == caller_account)) \
                        and identity_allows:
                    return True
            elif kind == "Service" and principal.get("Service") == value:
                return True
    return False


_OPERATORS = {
    "StringEquals": lambda want, have: want == have,
    "StringNotEquals": lambda want, have: want != have,
    "StringEqualsIgnoreCase": lambda want, have: want.lower() == have.lower(),
    "StringLike": lambda want, have: _glob(want, have),
    "ArnEquals": lambda want, have: want == have,
    "ArnLike": lambda want, have: _glob(want, have),
    "Bool": lambda want, have: str(want).lower() == str(have).lower(),
}
_NEGATED = {"StringNotEquals"}


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, keys in condition.items():
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise ValueError(f"unsupported condition operator {operator!r}")
        test = _OPERATORS[base]
        for key, wanted in keys.items():
            present = {k.lower(): v for k, v in context.items()}.get(key.lower())
            if present is None:
                if operator.endswith("IfExists") or base in _NEGATED:
                    continue
                return False
            hits = [test(str(w), str(present)) for w in _as_list(wanted)]
            if (all(hits) if base in _NEGATED else not any(hits)):
                return False
    return True


def _statement_applies(statement: dict, request: Request) -> bool:
    if "NotPrincipal" in statement or "NotAction" in statement or "NotResource" in statement:
        raise ValueError(f"unsupported statement {statement.get('Sid')!r}: Not* elements")
    if not _principal_matches(statement["Principal"], request.principal,
                              request.identity_policy_allows):
        return False
    if not any(_glob(a, request.action, case=False) for a in _as_list(statement["Action"])):
        return False
    if not any(_glob(r, request.resource) for r in _as_list(statement.get("Resource", "*"))):
        return False
    return _condition_holds(statement.get("Condition", {}), request.context)


def decide(document: dict, request: Request) -> tuple[bool, str]:
    """(allowed, why): why names the deciding statement's Sid, or says nothing allowed it."""
    allow = None
    for i, statement in enumerate(_as_list(document["Statement"])):
        if not _statement_applies(statement, request):
            continue
        sid = statement.get("Sid", f"#{i}")
        if statement["Effect"] == "Deny":
            return False, f"denied by {sid}"
        allow = allow or sid
    return (True, f"allowed by {allow}") if allow else (False, "no statement allows it")


def allowed(document: dict, request: Request) -> bool:
    return decide(document, request)[0]
