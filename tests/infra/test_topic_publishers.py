"""Every publisher of the app (each alarm's actions, each change rule's target, the fleet's
Auto Scaling notifications) is allowed by its topic's policy and by the topic key's policy, as
synthesized; other alarms, rules and accounts are not; and removing a statement breaks it.

The request context each service sends is modelled on AWS's documentation:
- CloudWatch alarms carry aws:SourceAccount and aws:SourceArn (the alarm) to SNS and to KMS;
- EventBridge carries them to SNS, but not in its KMS request for an encrypted topic (SNS key
  management guide, "Enable compatibility between event sources from AWS services and encrypted
  topics"): the KMS context below has neither;
- Auto Scaling publishes as its service-linked role of the same account.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from tests.support.policy_eval import ACCOUNT, OTHER_ACCOUNT, REGION, Request, decide, resolve
from tests.support.templates import only_resource, resources_of_type

ASG_ROLE = (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/"
            "AWSServiceRoleForAutoScaling")


@dataclass(frozen=True)
class Publisher:
    what: str  # for messages: "alarm file-search-dev-dlq-filling"
    topic: str  # ARN
    principal: dict[str, str]
    sns_context: dict[str, str]
    kms_context: dict[str, str]


class Policies:
    """The Alerts stack's topics, their policies and the key policy, resolved."""

    def __init__(self, alerts: dict) -> None:
        topics = resources_of_type(alerts, "AWS::SNS::Topic")
        key_id, key = only_resource(alerts, "AWS::KMS::Key")
        self.key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
        self.refs = {lid: f"arn:aws:sns:{REGION}:{ACCOUNT}:{lid}" for lid in topics}
        self.refs.update({f"{lid}.TopicName": lid for lid in topics})
        self.refs[f"{key_id}.Arn"] = self.key_arn
        # What other stacks see: each output, resolved, under its output name.
        outputs = {name: resolve(o["Value"], self.refs)
                   for name, o in alerts.get("Outputs", {}).items()}
        self.exports = {**outputs, **{o.get("Export", {}).get("Name", name): outputs[name]
                                      for name, o in alerts.get("Outputs", {}).items()
                                      if isinstance(o.get("Export", {}).get("Name"), str)}}
        self.topic_policies: dict[str, dict] = {}
        for policy in resources_of_type(alerts, "AWS::SNS::TopicPolicy").values():
            document = resolve(policy["Properties"]["PolicyDocument"], self.refs)
            for topic in policy["Properties"]["Topics"]:
                self.topic_policies[resolve(topic, self.refs)] = document
        self.key_policy = resolve(key["Properties"]["KeyPolicy"], self.refs)

    def check(self, p: Publisher) -> list[str]:
        """What refuses `p`; empty when both policies allow it."""
        problems = []
        topic_policy = self.topic_policies.get(p.topic)
        if topic_policy is None:
            return [f"{p.what}: {p.topic} has no topic policy in the Alerts stack"]
        same_account_role = p.principal.get("AWS", "").split(":")[4:5] == [ACCOUNT]
        sns = decide(topic_policy, Request(p.principal, "sns:Publish", p.topic,
                                           {**p.sns_context, "aws:SecureTransport": "true"}))
        # Same account: an IAM role's own policy may allow what the topic policy does not name
        # (the service-linked role's policy allows sns:Publish); only a Deny would stop it.
        if not sns[0] and not (same_account_role and sns[1] == "no statement allows it"):
            problems.append(f"{p.what}: topic policy: {sns[1]}")
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            kms = decide(self.key_policy, Request(p.principal, action, self.key_arn, p.kms_context))
            if not kms[0]:
                problems.append(f"{p.what}: key policy, {action}: {kms[1]}")
        return problems


def publishers(templates: dict[str, dict], policies: Policies,
               account: str = ACCOUNT) -> list[Publisher]:
    """Every alarm action, rule target and group notification of the environment."""
    found = []
    for stack, template in templates.items():
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            arn = f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{props['AlarmName']}"
            source = {"aws:SourceAccount": account, "aws:SourceArn": arn}
            for action in props.get("AlarmActions", []) + props.get("OKActions", []):
                local = action.get("Fn::GetAtt", [None])[0] if isinstance(action, dict) else None
                if local in template["Resources"]:  # a scaling policy of the same stack, no topic
                    assert template["Resources"][local]["Type"] == "AWS::AutoScaling::ScalingPolicy"
                    continue
                found.append(Publisher(f"{stack} alarm {props['AlarmName']}",
                                       resolve(action, policies.exports),
                                       {"Service": "cloudwatch.amazonaws.com"}, source, source))
        for rule in resources_of_type(template, "AWS::Events::Rule").values():
            props = rule["Properties"]
            arn = f"arn:aws:events:{REGION}:{account}:rule/{props['Name']}"
            for target in props.get("Targets", []):
                found.append(Publisher(f"{stack} rule {props['Name']}",
                                       resolve(target["Arn"], policies.exports),
                                       {"Service": "events.amazonaws.com"},
                                       {"aws:SourceAccount": account, "aws:SourceArn": arn}, {}))
        for group in resources_of_type(template, "AWS::AutoScaling::AutoScalingGroup").values():
            for notification in group["Properties"].get("NotificationConfigurations", []):
                role = ASG_ROLE.replace(ACCOUNT, account)
                context = {"aws:PrincipalArn": role, "kms:CallerAccount": account}
                found.append(Publisher(f"{stack} Auto Scaling group",
                                       resolve(notification["TopicARN"], policies.exports),
                                       {"AWS": role}, context, context))
    return found


@pytest.fixture
def environment(synthesized, env):
    templates = synthesized.templates[env]
    policies = Policies(templates["Alerts"])
    return env, templates, policies


def test_every_publisher_may_publish_to_its_topic(environment):
    env, templates, policies = environment
    found = publishers(templates, policies)
    kinds = {p.what.split(" ")[1] for p in found}
    assert kinds == {"alarm", "rule", "Auto"}, kinds  # all three kinds exist and were read
    assert sum(p.what.startswith("Monitoring alarm") for p in found) >= 20
    problems = [problem for p in found for problem in policies.check(p)]
    assert not problems, "\n".join(problems)


def test_other_alarms_rules_and_accounts_are_refused(environment):
    env, templates, policies = environment
    other_env = "prod" if env != "prod" else "dev"
    mine = publishers(templates, policies)
    # The same alarms and rules, as if they belonged to another environment of this account.
    renamed = [Publisher(p.what, p.topic, p.principal,
                         {k: v.replace(f"file-search-{env}-", f"file-search-{other_env}-")
                          for k, v in p.sns_context.items()},
                         {k: v.replace(f"file-search-{env}-", f"file-search-{other_env}-")
                          for k, v in p.kms_context.items()})
               for p in mine if "Service" in p.principal]
    # ... or to another account.
    foreign = publishers(templates, policies, account=OTHER_ACCOUNT)
    for p in renamed + foreign:
        assert policies.check(p), f"{p.what} ({p.sns_context}) would be allowed"


@pytest.mark.parametrize("where, sid", [
    ("topic", "CloudwatchPublish"), ("topic", "EventsPublish"),
    ("key", "CloudWatchAlarmsPublish"), ("key", "EventBridgeRulesPublish"),
    ("key", "AutoScalingNotificationsPublish"),
])
def test_removing_a_statement_refuses_its_publishers(synthesized, where, sid):
    templates = synthesized.templates["dev"]
    alerts = copy.deepcopy(templates["Alerts"])
    containers = ([r["Properties"]["PolicyDocument"] for r in
                   resources_of_type(alerts, "AWS::SNS::TopicPolicy").values()] if where == "topic"
                  else [only_resource(alerts, "AWS::KMS::Key")[1]["Properties"]["KeyPolicy"]])
    removed = 0
    for document in containers:
        before = len(document["Statement"])
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
        removed += before - len(document["Statement"])
    assert removed, f"no statement {sid} in the {where} policies"
    policies = Policies(alerts)
    refused = [p for p in publishers(templates, policies) if policies.check(p)]
    assert refused, f"without {sid} every publisher is still allowed: the test proves nothing"


def test_eventbridge_key_statement_has_no_source_conditions(synthesized, env):
    """A condition EventBridge's KMS request cannot meet would drop every change alert."""
    _, key = only_resource(synthesized.templates[env]["Alerts"], "AWS::KMS::Key")
    statement, = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                  if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert "aws:Source" not in str(statement.get("Condition", {}))
