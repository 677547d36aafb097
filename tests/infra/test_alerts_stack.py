"""Alerts stack: the severity topics, their key, and the subscriptions from config."""

from __future__ import annotations

from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk.assertions import Match, Template

from config import AlarmSubscriptions, SlackChannel
from environments import ENVIRONMENTS
from stacks.alerts.notification_topics import NotificationTopics
from tests.support.templates import only_resource, resources_of_type


def test_topics_are_encrypted_and_tls_only(synthesized, env):
    template = synthesized.template(env, "Alerts")
    topics = template.find_resources("AWS::SNS::Topic")
    assert len(topics) == 2
    for topic in topics.values():
        assert "KmsMasterKeyId" in topic["Properties"]
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


def topics_template(settings: AlarmSubscriptions) -> dict:
    stack = Stack(App(), "Alerts")
    NotificationTopics(stack, "Topics", settings=settings, name_prefix="file-search-test",
                       removal_policy=RemovalPolicy.DESTROY)
    return Template.from_stack(stack).to_json()


def test_topics_subscribe_the_configured_addresses_and_slack():
    template = topics_template(AlarmSubscriptions(
        critical_emails=("oncall@example.com", "lead@example.com"),
        warning_emails=("team@example.com",),
        slack=SlackChannel(workspace_id="T0123ABCD", channel_id="C0456EFGH")))
    subs = resources_of_type(template, "AWS::SNS::Subscription")
    by_topic: dict[str, set[str]] = {}
    for sub in subs.values():
        p = sub["Properties"]
        assert p["Protocol"] == "email"
        by_topic.setdefault(p["TopicArn"]["Ref"][:-8], set()).add(p["Endpoint"])
    assert by_topic == {"TopicsCritical": {"oncall@example.com", "lead@example.com"},
                        "TopicsWarning": {"team@example.com"}}
    _, chatbot = only_resource(template, "AWS::Chatbot::SlackChannelConfiguration")
    props = chatbot["Properties"]
    assert props["SlackWorkspaceId"] == "T0123ABCD" and props["SlackChannelId"] == "C0456EFGH"
    assert sorted(t["Ref"][:-8] for t in props["SnsTopicArns"]) == ["TopicsCritical", "TopicsWarning"]
    for topic in resources_of_type(template, "AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]


def test_topics_without_config_have_no_subscriptions(synthesized, env):
    template = synthesized.templates[env]["Alerts"]
    config = ENVIRONMENTS[env].subscriptions
    subs = resources_of_type(template, "AWS::SNS::Subscription")
    assert len(subs) == len(config.critical_emails) + len(config.warning_emails)
    assert bool(resources_of_type(template, "AWS::Chatbot::SlackChannelConfiguration")) == (config.slack is not None)
    assert len(resources_of_type(template, "AWS::SNS::Topic")) == 2
