"""Intrinsics resolve as CloudFormation would, and the template's world without a scenario policy."""

from __future__ import annotations

import boto3
import pytest

from localcloud.intrinsics import Resolver, TemplateError, expand_language_extensions
from localcloud.world import LocalCloud

pytestmark = pytest.mark.usefixtures("socket_disabled")


def test_without_a_scenario_policy_the_parameter_is_absent() -> None:
    with LocalCloud() as world:
        name = world.functions_env("POLICY_PARAMETER_NAME")
        assert name is not None
        with pytest.raises(boto3.client("ssm").exceptions.ParameterNotFound):
            boto3.client("ssm").get_parameter(Name=name)


def _resolver(extra: dict[str, object]) -> Resolver:
    template = {
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}, "Owner": {"Type": "String", "Default": ""}},
        "Conditions": {"NoOwner": {"Fn::Equals": [{"Ref": "Owner"}, ""]}},
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "q-${Stage}"}}},
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "b"}},
            **extra,
        },
    }
    return Resolver(template)


def test_intrinsics_resolve_like_cloudformation() -> None:
    resolver = _resolver({})
    assert resolver.resolve({"Ref": "Queue"}) == "https://sqs.eu-west-1.amazonaws.com/123456789012/q-dev"
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:eu-west-1:123456789012:q-dev"
    assert (
        resolver.resolve({"Fn::Sub": "${Queue.QueueName}/${AWS::Region}/${!Literal}"}) == "q-dev/eu-west-1/${Literal}"
    )
    assert resolver.resolve({"Fn::Sub": ["${X}-${Stage}", {"X": {"Ref": "Bus"}}]}) == "b-dev"
    assert resolver.resolve({"Fn::If": ["NoOwner", {"Ref": "AWS::AccountId"}, {"Ref": "Owner"}]}) == "123456789012"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-dev"
    assert resolver.resolve([{"Fn::If": ["NoOwner", {"Ref": "AWS::NoValue"}, "x"]}, "y"]) == ["y"]


def test_resources_whose_condition_is_false_do_not_exist() -> None:
    resolver = _resolver({"Gone": {"Type": "AWS::SNS::Topic", "Condition": "HasOwner", "Properties": {}}})
    resolver.template["Conditions"]["HasOwner"] = {"Fn::Not": [{"Condition": "NoOwner"}]}
    assert [name for name, _ in resolver.of_type("AWS::SNS::Topic")] == []


def test_unknown_reference_is_named() -> None:
    with pytest.raises(TemplateError, match="Nowhere"):
        _resolver({}).resolve({"Ref": "Nowhere"})


def test_for_each_expands_keys_values_and_refs_and_nests() -> None:
    # As the AWS::LanguageExtensions transform documents Fn::ForEach: ${Id} and &{Id} in keys and values, Ref Id.
    template = {
        "Transform": ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"],
        "Parameters": {"Names": {"Type": "CommaDelimitedList", "Default": "a.b, c"}},
        "Resources": {
            "Fixed": {"Type": "AWS::SNS::Topic"},
            "Fn::ForEach::Outer": [
                "Name",
                {"Ref": "Names"},
                {
                    "Fn::ForEach::Inner": [
                        "Kind",
                        ["X", "Y"],
                        {"&{Name}${Kind}": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}}},
                    ]
                },
            ],
            "Fn::ForEach::Logs": ["P", ["Fixed"], {"${P}Log": {"Properties": {"N": {"Fn::Sub": "/x/${${P}}"}}}}],
        },
    }
    expanded = expand_language_extensions(template)
    assert expanded["Transform"] == "AWS::Serverless-2016-10-31"
    assert list(expanded["Resources"]) == ["Fixed", "abX", "abY", "cX", "cY", "FixedLog"]
    assert expanded["Resources"]["abY"]["Properties"]["TopicName"] == "a.b"
    assert expanded["Resources"]["FixedLog"]["Properties"]["N"] == {"Fn::Sub": "/x/${Fixed}"}


def test_for_each_without_the_transform_is_left_alone_and_duplicates_are_refused() -> None:
    loop = {"Fn::ForEach::L": ["P", ["A", "A"], {"${P}Log": {"Type": "AWS::SNS::Topic"}}]}
    assert expand_language_extensions({"Resources": loop}) == {"Resources": loop}
    with pytest.raises(TemplateError, match="ALog is defined twice"):
        expand_language_extensions({"Transform": "AWS::LanguageExtensions", "Resources": loop})


def test_names_and_arns_come_from_the_one_description() -> None:
    resolver = _resolver({"Key": {"Type": "AWS::KMS::Key"}, "Role": {"Type": "AWS::IAM::Role"}})
    assert resolver.physical_name("Queue") == "q-dev"
    assert resolver.physical_name("Role") == "workspaces-autopilot-dev-Role"
    assert resolver.arn("Bus") == "arn:aws:events:eu-west-1:123456789012:event-bus/b"
    assert resolver.arn("Key") == f"arn:aws:kms:eu-west-1:123456789012:key/{resolver.resolve({'Ref': 'Key'})}"
    with pytest.raises(TemplateError, match="Nowhere"):
        resolver.arn("Nowhere")


def test_a_rule_on_a_custom_bus_has_the_bus_in_its_arn() -> None:
    # The Service Authorization Reference's EventBridge resource types (parliament's iam_definition.json):
    # rule-on-default-event-bus is rule/${RuleName}, rule-on-custom-event-bus is rule/${EventBusName}/${RuleName}.
    # A policy written for the short form would pass locally and never match on AWS.
    resolver = _resolver(
        {
            "OnDefault": {"Type": "AWS::Events::Rule", "Properties": {"Name": "d"}},
            "OnNamedDefault": {"Type": "AWS::Events::Rule", "Properties": {"Name": "n", "EventBusName": "default"}},
            "OnCustom": {"Type": "AWS::Events::Rule", "Properties": {"Name": "c", "EventBusName": {"Ref": "Bus"}}},
            "OnCustomByArn": {
                "Type": "AWS::Events::Rule",
                "Properties": {"Name": "a", "EventBusName": {"Fn::GetAtt": ["Bus", "Arn"]}},
            },
        }
    )
    prefix = "arn:aws:events:eu-west-1:123456789012:rule/"
    assert resolver.resolve({"Fn::GetAtt": ["OnDefault", "Arn"]}) == prefix + "d"
    assert resolver.resolve({"Fn::GetAtt": ["OnNamedDefault", "Arn"]}) == prefix + "n"
    assert resolver.resolve({"Fn::GetAtt": ["OnCustom", "Arn"]}) == prefix + "b/c"
    assert resolver.resolve({"Fn::GetAtt": ["OnCustomByArn", "Arn"]}) == prefix + "b/a"
