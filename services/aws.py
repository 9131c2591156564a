"""The one factory for boto3 clients: timeouts, standard retries, SigV4 and endpoint overrides.

Clients are built on demand and passed in; nothing here creates a client at import time.
boto3 itself honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` from the environment; an
explicit endpoint in the AwsTarget (the sandbox's) wins over them.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from services.settings import AwsTarget

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30


def client_config(**overrides: Any) -> Config:
    base = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "max_attempts": 3},
        signature_version="s3v4",
    )
    return base.merge(Config(**overrides)) if overrides else base


def make_client(service: str, target: AwsTarget, **config_overrides: Any) -> Any:
    """A boto3 client for ``service`` aimed at ``target``."""
    session = boto3.session.Session(
        profile_name=target.profile,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        region_name=target.region,
    )
    endpoint = target.s3_endpoint_url if service == "s3" and target.s3_endpoint_url else target.endpoint_url
    kwargs: dict[str, Any] = {"config": client_config(**config_overrides)}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    return session.client(service, **kwargs)
