"""What a failed AWS call says about the console's own access, in one sentence a person can act on.

The CLI's top-level guard and the credential check before a command that talks to AWS both use it, so a
missing secret, an unknown profile or an expired session token reads the same wherever it is met.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from services.aws_model.s3errors import CREDENTIAL_CODES, EXPIRED_TOKEN_CODES
from services.core.clients import SESSIONS, CallTimedOut, bounded, shared_client
from services.core.errors import ConfigError
from services.core.settings import AwsTarget

NO_CREDENTIALS = (
    "No AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(or unset every PIPELINE_* variable to use the sandbox)."
)


def client_error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code") or "")


def is_access_problem(err: BaseException) -> bool:
    """The console's own credentials, profile or AWS endpoint are the problem, not the pipeline."""
    if isinstance(err, ClientError):
        return client_error_code(err) in CREDENTIAL_CODES | EXPIRED_TOKEN_CODES
    return isinstance(
        err, NoCredentialsError | PartialCredentialsError | ProfileNotFound | NoRegionError | BotoConnectionError
    )


def describe_aws_error(err: BaseException) -> str:
    """One sentence: what is wrong with the console's AWS access, and what to do about it."""
    if isinstance(err, ClientError):
        return _client_error(err)
    if isinstance(err, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(err, PartialCredentialsError):
        missing = err.kwargs.get("cred_var", "a value")
        return (
            f"The AWS credentials are incomplete: {missing} is missing ({err.kwargs.get('provider', 'env')}). "
            "Set it, or unset AWS_ACCESS_KEY_ID to use AWS_PROFILE instead."
        )
    if isinstance(err, ProfileNotFound):
        return (
            f"AWS_PROFILE names a profile that does not exist: {err.kwargs.get('profile')!r}. "
            "Run `aws configure list-profiles` and set AWS_PROFILE to one of them (or unset it)."
        )
    if isinstance(err, NoRegionError):
        return "No AWS region is set: set AWS_REGION to the bucket's region."
    if isinstance(err, BotoConnectionError):
        where = err.kwargs.get("endpoint_url", "AWS")
        return f"AWS could not be reached at {where}: check the network, AWS_REGION and any AWS_ENDPOINT_URL."
    return f"The AWS call failed ({type(err).__name__}): {err}"


def _client_error(err: ClientError) -> str:
    code = client_error_code(err) or "an error"
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in EXPIRED_TOKEN_CODES:
        return (
            f"The AWS session token has expired ({code}): refresh the credentials (`aws sso login`, or a new "
            "AWS_SESSION_TOKEN with its key and secret) and run again."
        )
    if code in CREDENTIAL_CODES:
        return (
            f"AWS does not accept the console's credentials ({code}): the access key is unknown or revoked, or its "
            "secret is wrong. Check AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        )
    operation = getattr(err, "operation_name", "a call")
    message = err.response.get("Error", {}).get("Message") or ""
    return f"AWS refused {operation} with {code} (HTTP {status}){': ' + message if message else ''}."


def require_access(target: AwsTarget, bucket: str | None = None, within_s: float | None = None) -> None:
    """Raise ConfigError, in one sentence, unless the console has usable AWS credentials (and, given ``bucket``,
    AWS accepts them: one GetBucketLocation, whose refusal for lack of permission is left to the checks to judge).

    Run before a command that talks to AWS, so a missing secret or an expired token is said once, up front, rather
    than as every check's ``unknown`` or a traceback from deep inside botocore. With ``within_s``, AWS is waited for
    that long at most: an endpoint that does not answer by then is left for the command itself to report."""

    def look() -> None:
        if SESSIONS.entry(target).session.get_credentials() is None:
            raise ConfigError(NO_CREDENTIALS)
        if bucket is not None:
            shared_client("s3", target).get_bucket_location(Bucket=bucket)

    try:
        if within_s is None:
            look()
        else:
            bounded(look, within_s)
    except CallTimedOut:
        return  # no verdict on the credentials: the checks say what the endpoint does
    except ClientError as err:
        if is_access_problem(err):
            raise ConfigError(describe_aws_error(err)) from err
    except BotoCoreError as err:
        if is_access_problem(err):
            raise ConfigError(describe_aws_error(err)) from err
        raise
