"""template.yaml, read the way CloudFormation and SAM read it, for the tests and the local stack.

``load_template`` parses the SAM template (short-form intrinsic tags included); ``Stack`` resolves
``Ref``/``Sub``/``GetAtt`` against the physical names it chooses, creates the stateful resources
(DynamoDB tables, S3 bucket, SQS queues, EventBridge bus/rule/targets, Cognito user pool and
client, SES identity) on whatever endpoint the boto3 session points at (moto in-process or moto
server), and describes the functions: handler, code folder, environment, API routes and event
sources. Nothing here copies a key schema or a route: all of it comes from the template.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
REGION = "ca-central-1"

_TAGS = (
    "Ref",
    "Sub",
    "GetAtt",
    "Join",
    "If",
    "Select",
    "Split",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "ImportValue",
    "Condition",
    "GetAZs",
    "Cidr",
)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml when built with it
    """SafeLoader that understands CloudFormation's short-form tags."""


def _make_constructor(tag: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        key = "Ref" if tag == "Ref" else ("Condition" if tag == "Condition" else f"Fn::{tag}")
        return {key: value}

    return construct


for _tag in _TAGS:
    _Loader.add_constructor(f"!{_tag}", _make_constructor(_tag))


_parsed: dict[tuple[str, int, int], dict[str, Any]] = {}
_sessions: dict[str, boto3.session.Session] = {}
_clients: dict[tuple[str, str, str | None], Any] = {}


def _session(region: str) -> boto3.session.Session:
    """One boto3 session per region for :meth:`Stack.create` (its loader keeps the service models
    it read: the tests create a stack for every test)."""
    if region not in _sessions:
        _sessions[region] = boto3.session.Session(region_name=region)
    return _sessions[region]


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data (intrinsics in their long ``Fn::`` form): a fresh copy each call
    (callers may change it), parsed once per version of the file (every test creates a stack)."""
    stat = Path(path).stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _parsed:
        with open(path, encoding="utf-8") as handle:
            _parsed[key] = yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return copy.deepcopy(_parsed[key])


def target_function(target: dict[str, Any]) -> str | None:
    """The template function a schedule's or a rule's target invokes (``Arn: !GetAtt Function.Arn``),
    ``None`` when the target is anything else."""
    arn = target.get("Arn")
    return str(arn["Fn::GetAtt"][0]) if isinstance(arn, dict) and arn.get("Fn::GetAtt") else None


@dataclass(frozen=True)
class Route:
    """One API route of the template."""

    method: str
    path: str
    function: str
    authorized: bool


@dataclass(frozen=True)
class EventSource:
    """A non-API event source of a function (DynamoDB stream, SQS, S3, Cognito trigger)."""

    function: str
    kind: str
    properties: dict[str, Any]


@dataclass
class FunctionSpec:
    """What the template says about one function."""

    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    # Asynchronous invocation settings (EventInvokeConfig): OnFailure destination ARN, retries.
    on_failure_arn: str | None = None
    async_retries: int = 2
    routes: list[Route] = field(default_factory=list)
    sources: list[EventSource] = field(default_factory=list)

    @property
    def module(self) -> str:
        """Python module of the handler (``claims_api``)."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def function_name(self) -> str:
        """Handler attribute (``lambda_handler``)."""
        return self.handler.rsplit(".", 1)[1]


class Stack:
    """Physical names for a template's resources, and the code that creates them."""

    def __init__(
        self,
        template: dict[str, Any] | None = None,
        *,
        stack_name: str = "portal-local",
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.template = template if template is not None else load_template()
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in (self.template.get("Parameters") or {}).items()
        }
        self.parameters.update(parameters or {})
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]
        self.conditions: dict[str, bool] = {}
        for condition, expression in (self.template.get("Conditions") or {}).items():
            self.conditions[condition] = bool(self.resolve(expression))
        # Filled in by create(): logical id -> {"Ref": ..., attribute: ...}
        self.physical: dict[str, dict[str, str]] = {}
        self.secret_values: dict[str, str] = {}
        self._assign_names()

    # ------------------------------------------------------------------ names
    def _assign_names(self) -> None:
        for logical_id, resource in self.resources.items():
            kind = resource["Type"]
            props = resource.get("Properties") or {}
            name = f"{self.stack_name}-{logical_id}"
            if kind == "AWS::DynamoDB::Table":
                self.physical[logical_id] = {"Ref": name, "Arn": self._arn("dynamodb", f"table/{name}")}
            elif kind == "AWS::SQS::Queue":
                url = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
                self.physical[logical_id] = {
                    "Ref": url,
                    "Arn": self._arn("sqs", name, sep=":"),
                    "QueueName": name,
                    "QueueUrl": url,
                }
            elif kind == "AWS::Events::EventBus":
                bus = self.resolve(props.get("Name", name))
                self.physical[logical_id] = {"Ref": bus, "Name": bus, "Arn": self._arn("events", f"event-bus/{bus}")}
            elif kind == "AWS::Events::Rule":
                self.physical[logical_id] = {"Ref": name, "Arn": self._arn("events", f"rule/{name}")}
            elif kind == "AWS::S3::Bucket":
                bucket = self.resolve(props.get("BucketName", name.lower()))
                self.physical[logical_id] = {"Ref": bucket, "Arn": f"arn:aws:s3:::{bucket}"}
            elif kind == "AWS::Cognito::UserPool":
                # Placeholder until create() learns the id the pool really gets.
                pool_id = f"{self.region}_{logical_id}"
                self.physical[logical_id] = {"Ref": pool_id, "Arn": self._arn("cognito-idp", f"userpool/{pool_id}")}
            elif kind == "AWS::Cognito::UserPoolClient":
                self.physical[logical_id] = {"Ref": f"{logical_id}-id"}
            elif kind == "AWS::SecretsManager::Secret":
                # Generated here as CloudFormation would, once per stack; read through dynamic references.
                arn = self._arn("secretsmanager", f"secret:{name}", sep=":")
                self.physical[logical_id] = {"Ref": arn, "Id": arn}
                self.secret_values[arn] = secrets.token_urlsafe(36)
            elif kind == "AWS::Logs::LogGroup":
                self.physical[logical_id] = {"Ref": name}  # named after the functions: second pass below
            elif kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard"):
                self.physical[logical_id] = {"Ref": name}
            elif kind == "AWS::SES::ConfigurationSet":
                self.physical[logical_id] = {"Ref": self.resolve(props.get("Name", name))}
            elif kind in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion", "AWS::Serverless::Api"):
                self.physical[logical_id] = {"Ref": name, "Arn": self._arn("lambda", f"function:{name}", sep=":")}

        for logical_id in self.of_type("AWS::Logs::LogGroup"):
            group = str(self.resolve(self.resources[logical_id]["Properties"].get("LogGroupName", logical_id)))
            arn = self._arn("logs", f"log-group:{group}")
            self.physical[logical_id] = {"Ref": group, "Arn": f"{arn}:*"}

    def _arn(self, service: str, resource: str, sep: str = ":") -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}{sep}{resource}"

    # ------------------------------------------------------------------ intrinsics
    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }.get(name)

    def _ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self._pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]["Ref"]
        raise KeyError(f"unresolved Ref {name}")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        values = self.physical.get(logical_id)
        if values is None or attribute not in values:
            raise KeyError(f"unresolved GetAtt {logical_id}.{attribute}")
        return values[attribute]

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in ``value`` (what this project's template uses)."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self._get_att(parts[0], parts[1])
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

                def replace(match: re.Match[str]) -> str:
                    token = match.group(1)
                    if token in variables:
                        return str(variables[token])
                    if "." in token and not token.startswith("AWS::"):
                        logical_id, attribute = token.split(".", 1)
                        return str(self._get_att(logical_id, attribute))
                    return str(self._ref(token))

                return self._dynamic_references(re.sub(r"\$\{([^}!]+)\}", replace, text))
            if key == "Fn::Join":
                return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
            if key == "Fn::If":
                return self.resolve(arg[1] if self.conditions[arg[0]] else arg[2])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Condition":
                return self.conditions[arg]
        return {k: self.resolve(v) for k, v in value.items()}

    def _dynamic_references(self, text: str) -> str:
        """``{{resolve:secretsmanager:<arn>:SecretString}}`` -> the value generated for that secret."""

        def secret(match: re.Match[str]) -> str:
            arn = match.group(1)
            if arn not in self.secret_values:
                raise KeyError(f"unresolved dynamic reference to {arn}")
            return self.secret_values[arn]

        return re.sub(
            r"\{\{resolve:secretsmanager:(arn:aws:secretsmanager:[^:]+:\d+:secret:[^:}]+)(?::SecretString)?\}\}",
            secret,
            text,
        )

    # ------------------------------------------------------------------ queries
    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation/SAM type."""
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def name(self, logical_id: str) -> str:
        """Physical name (``Ref``) of a resource."""
        return str(self.physical[logical_id]["Ref"])

    def functions(self) -> dict[str, FunctionSpec]:
        """Every function with its code, handler, environment (globals merged), routes and sources."""
        globals_fn = (self.template.get("Globals") or {}).get("Function") or {}
        global_env = ((globals_fn.get("Environment") or {}).get("Variables")) or {}
        specs: dict[str, FunctionSpec] = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            env_raw = {**global_env, **(((props.get("Environment") or {}).get("Variables")) or {})}
            environment = {k: str(self.resolve(v)) for k, v in env_raw.items()}
            environment.setdefault("POWERTOOLS_SERVICE_NAME", logical_id)
            invoke_config = props.get("EventInvokeConfig") or {}
            on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            spec = FunctionSpec(
                logical_id=logical_id,
                code_uri=(ROOT / props["CodeUri"]).resolve(),
                handler=props["Handler"],
                environment=environment,
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                on_failure_arn=str(self.resolve(on_failure)) if on_failure else None,
                async_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
            )
            api_auth = self._api_default_authorizer()
            for event in (props.get("Events") or {}).values():
                event_props = event.get("Properties") or {}
                if event["Type"] == "Api":
                    authorizer = ((event_props.get("Auth") or {}).get("Authorizer")) or api_auth
                    spec.routes.append(
                        Route(
                            method=str(event_props["Method"]).upper(),
                            path=str(event_props["Path"]),
                            function=logical_id,
                            authorized=authorizer not in (None, "NONE"),
                        )
                    )
                else:
                    spec.sources.append(EventSource(logical_id, event["Type"], event_props))
            specs[logical_id] = spec
        return specs

    def _api_default_authorizer(self) -> str | None:
        for resource in self.of_type("AWS::Serverless::Api").values():
            return (resource["Properties"].get("Auth") or {}).get("DefaultAuthorizer")
        return None

    def routes(self) -> list[Route]:
        """Every API route of the template."""
        return [route for spec in self.functions().values() for route in spec.routes]

    def stage(self) -> str:
        """The API stage name (``v1``)."""
        for resource in self.of_type("AWS::Serverless::Api").values():
            return str(resource["Properties"]["StageName"])
        return "v1"

    # ------------------------------------------------------------------ creation
    def create(self, session: boto3.session.Session | None = None, *, endpoint_url: str | None = None) -> None:
        """Create every stateful resource of the template on ``endpoint_url`` (or moto in-process)."""
        shared = session is None
        session = session or _session(self.region)

        def make(service: str) -> Any:
            if not shared:
                return session.client(service, region_name=self.region, endpoint_url=endpoint_url)
            # The process's own session (moto in-process): its clients are kept too, like its
            # session (a client costs about 10 ms to create, and a stack needs ten).
            key = (self.region, service, endpoint_url)
            if key not in _clients:
                _clients[key] = session.client(service, region_name=self.region, endpoint_url=endpoint_url)
            return _clients[key]

        dynamodb = make("dynamodb")
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items():
            self._create_table(dynamodb, logical_id, resource["Properties"])
        sqs = make("sqs")
        queues = self.of_type("AWS::SQS::Queue")
        # Dead-letter queues first: redrive policies point at them.
        ordered = sorted(queues, key=lambda lid: "RedrivePolicy" in (queues[lid].get("Properties") or {}))
        for logical_id in ordered:
            self._create_queue(sqs, logical_id, queues[logical_id].get("Properties") or {})
        s3 = make("s3")
        for logical_id, resource in self.of_type("AWS::S3::Bucket").items():
            bucket = self.name(logical_id)
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
            versioning = (resource.get("Properties") or {}).get("VersioningConfiguration") or {}
            if versioning.get("Status") == "Enabled":
                # Receipts are pinned to the object version their check saw (docs/claims.md).
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        events = make("events")
        for logical_id in self.of_type("AWS::Events::EventBus"):
            events.create_event_bus(Name=self.name(logical_id))
        for logical_id, resource in self.of_type("AWS::Events::Rule").items():
            props = self.resolve(resource["Properties"])
            rule = self.name(logical_id)
            events.put_rule(
                Name=rule,
                EventBusName=props.get("EventBusName", "default"),
                EventPattern=json.dumps(props["EventPattern"]),
                State=props.get("State", "ENABLED"),
            )
            events.put_targets(
                Rule=rule,
                EventBusName=props.get("EventBusName", "default"),
                Targets=[{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])],
            )
        cognito = make("cognito-idp")
        for logical_id, resource in self.of_type("AWS::Cognito::UserPool").items():
            self._create_user_pool(cognito, logical_id, resource["Properties"])
        for logical_id, resource in self.of_type("AWS::Cognito::UserPoolClient").items():
            props = self.resolve(resource["Properties"])
            allowed = {
                "ClientName",
                "GenerateSecret",
                "ExplicitAuthFlows",
                "PreventUserExistenceErrors",
                "EnableTokenRevocation",
                "AccessTokenValidity",
                "IdTokenValidity",
                "RefreshTokenValidity",
                "TokenValidityUnits",
                "ReadAttributes",
                "WriteAttributes",
                "AuthSessionValidity",
            }
            created = cognito.create_user_pool_client(
                UserPoolId=props["UserPoolId"], **{k: v for k, v in props.items() if k in allowed}
            )["UserPoolClient"]
            self.physical[logical_id] = {"Ref": created["ClientId"]}
        ses = make("ses")
        sender = self.parameters.get("SenderEmail")
        if sender:
            ses.verify_email_identity(EmailAddress=sender)
        # Configuration sets (moto keeps them; their event destinations are played by local.ses_events).
        for logical_id in self.of_type("AWS::SES::ConfigurationSet"):
            ses.create_configuration_set(ConfigurationSet={"Name": self.name(logical_id)})
        self._create_monitoring(make("logs"), make("cloudwatch"))

    def _create_monitoring(self, logs: Any, cloudwatch: Any) -> None:
        """Log groups (with retention), alarms and dashboards, as CloudFormation would create them."""
        for resource in self.of_type("AWS::Logs::LogGroup").values():
            props = self.resolve(resource["Properties"])
            logs.create_log_group(logGroupName=props["LogGroupName"])
            if "RetentionInDays" in props:
                logs.put_retention_policy(
                    logGroupName=props["LogGroupName"], retentionInDays=int(props["RetentionInDays"])
                )
        for logical_id, resource in self.of_type("AWS::CloudWatch::Alarm").items():
            props = self.resolve(resource["Properties"])
            props.setdefault("AlarmName", self.name(logical_id))
            for key in ("Threshold",):
                props[key] = float(props[key])
            for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
                if key in props:
                    props[key] = int(props[key])
            for query in props.get("Metrics", []):
                if "MetricStat" in query:
                    query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
            cloudwatch.put_metric_alarm(**props)
            self.physical[logical_id] = {"Ref": props["AlarmName"]}
        for logical_id, resource in self.of_type("AWS::CloudWatch::Dashboard").items():
            props = self.resolve(resource["Properties"])
            json.loads(props["DashboardBody"])  # CloudFormation refuses a body that is not JSON
            cloudwatch.put_dashboard(DashboardName=props["DashboardName"], DashboardBody=props["DashboardBody"])
            self.physical[logical_id] = {"Ref": props["DashboardName"]}

    def _create_table(self, dynamodb: Any, logical_id: str, props: dict[str, Any]) -> None:
        params: dict[str, Any] = {
            "TableName": self.name(logical_id),
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            params["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            params["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        description = dynamodb.create_table(**params)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(
                TableName=params["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
            )
        self.physical[logical_id]["StreamArn"] = description.get("LatestStreamArn", "")
        self.physical[logical_id]["Arn"] = description["TableArn"]

    def _create_queue(self, sqs: Any, logical_id: str, props: dict[str, Any]) -> None:
        props = self.resolve(props)
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = sqs.create_queue(QueueName=self.physical[logical_id]["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.physical[logical_id].update({"Ref": url, "QueueUrl": url, "Arn": arn})

    def _create_user_pool(self, cognito: Any, logical_id: str, props: dict[str, Any]) -> None:
        props = self.resolve(props)
        schema = []
        for attribute in props.get("Schema", []):
            entry = dict(attribute)
            if "StringAttributeConstraints" in entry:
                entry["StringAttributeConstraints"] = {
                    k: str(v) for k, v in entry["StringAttributeConstraints"].items()
                }
            schema.append(entry)
        pool = cognito.create_user_pool(
            PoolName=props.get("UserPoolName", f"{self.stack_name}-{logical_id}"),
            Policies=props.get("Policies", {}),
            UsernameAttributes=props.get("UsernameAttributes", []),
            AutoVerifiedAttributes=props.get("AutoVerifiedAttributes", []),
            Schema=schema,
            MfaConfiguration=props.get("MfaConfiguration", "OFF"),
            # Kept by moto, enforced by the local Cognito emulator (email verified before update).
            UserAttributeUpdateSettings=props.get("UserAttributeUpdateSettings")
            or {"AttributesRequireVerificationBeforeUpdate": []},
        )["UserPool"]
        self.physical[logical_id] = {
            "Ref": pool["Id"],
            "Arn": pool["Arn"],
            "ProviderName": f"cognito-idp.{self.region}.amazonaws.com/{pool['Id']}",
        }

    def environment(self) -> dict[str, str]:
        """The union of every function's environment (the local stack runs all handlers in one process)."""
        merged: dict[str, str] = {}
        for spec in self.functions().values():
            merged.update(spec.environment)
        merged.pop("POWERTOOLS_SERVICE_NAME", None)
        return merged
