"""The sandbox pipeline's state: the account's configuration written into moto at start, and the switches' desired
configuration applied to it (bucket, role, function, distribution)."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from services.aws_model import cloudfront_cors
from services.sandbox import layout, moto_state, switches
from services.sandbox.cdn import CachePolicy, EdgeCache
from services.sandbox.gateway import ApiCors
from services.sandbox.lambda_host import Live, function_zip
from services.sandbox.s3front import StoreBehaviour


@dataclass
class PipelineState:
    """The running pipeline and the handles break switches turn."""

    live: Live
    api_cors: ApiCors
    edge_cache: EdgeCache
    #: how S3 itself behaves where switches change it (the front's options)
    store: StoreBehaviour = field(default_factory=StoreBehaviour)
    active: frozenset[str] = frozenset()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, active: frozenset[str]) -> None:
        """Make the sandbox's configuration exactly ``desired_config(active)``."""
        config = switches.desired_config(active)
        with self.lock:
            bucket = layout.BUCKET
            moto_state.put_bucket_cors(bucket, config.cors_rules)
            if config.public_access_block is None:
                moto_state.put_public_access_block(bucket, None)
            moto_state.put_bucket_policy(bucket, config.bucket_policy)
            if config.public_access_block is not None:
                moto_state.put_public_access_block(bucket, config.public_access_block)
            moto_state.put_role_policy(layout.PRESIGN_ROLE_NAME, "presign-put", config.role_policy)
            moto_state.put_bucket_encryption(bucket, config.bucket_encryption)
            moto_state.put_key_policy(layout.KMS_KEY_ID, config.key_policy)
            self.live.function = replace(
                self.live.function,
                content_type_style=config.content_type_style,
                client_content_type="ignore" if config.client_content_type == "ignore" else "match",
                expires_in=config.url_expires,
                upload_shape=config.upload_shape,
            )
            self.live.sign_other_spelling = config.client_content_type == "other"
            self.live.signed_params = config.signed_params
            self.live.query_params = config.query_params
            self.store.verify_query_checksums = config.verify_query_checksums
            self.live.reply_other_key = config.reply_other_key
            self.live.report_content_type = config.report_content_type
            self.live.gateway_delay = config.gateway_delay
            self.live.signer = config.function_signer
            self.api_cors.allow_headers = config.api_cors_headers
            moto_state.set_distribution_ttls(layout.DISTRIBUTION_ID, *config.cdn_ttls)
            moto_state.set_distribution_origin_handling(layout.DISTRIBUTION_ID, *config.cdn_origin_handling)
            self.active = active

    def describe(self) -> dict[str, Any]:
        return {
            "active": sorted(self.active),
            "switches": [
                {"name": s.name, "title": s.title, "symptom": s.symptom, "on": s.name in self.active}
                for s in switches.SWITCHES
            ],
        }


def configure_account() -> None:
    """The seed's bucket (secure policy shape), the presign function and its role, the distribution with OAC.

    Written straight into moto's backends (``moto_state``), in the shapes moto's API layer would store: the
    same state as the same calls through boto3 and HTTP, without building four boto3 clients and sending
    five requests to ourselves at start-up.
    """
    moto_state.create_bucket(layout.BUCKET, layout.REGION)
    # as S3 creates every new bucket since April 2023: ACLs disabled, the bucket owner owns every object
    moto_state.put_ownership_controls(layout.BUCKET, layout.OBJECT_OWNERSHIP)
    # every bucket encrypts new objects since January 2023 (SSE-S3 unless told otherwise); the customer managed key
    # is there for the KMS switches to point the bucket at
    moto_state.put_bucket_encryption(layout.BUCKET, layout.default_encryption(kms=False))
    moto_state.create_kms_key(layout.KMS_KEY_ID, layout.key_policy(), "pipeline-sandbox uploads (SSE-KMS)")
    moto_state.create_role(layout.PRESIGN_ROLE_NAME, layout.LAMBDA_TRUST_POLICY)
    moto_state.create_function(
        layout.REGION,
        {
            "FunctionName": layout.LAMBDA_FUNCTION,
            "Runtime": "python3.12",
            "Role": layout.PRESIGN_ROLE_ARN,
            "Handler": "lambda_function.lambda_handler",
            "Code": {"ZipFile": base64.b64encode(function_zip()).decode()},
            "Architectures": ["arm64"],
            "Environment": {
                "Variables": {
                    "BUCKET_NAME": layout.BUCKET,
                    "BUCKET_REGION": layout.REGION,
                    "URL_EXPIRES_SECONDS": "300",
                }
            },
        },
    )
    oac_id = moto_state.create_origin_access_control(layout.OAC_CONFIG)
    created = moto_state.create_distribution(layout.distribution_config(oac_id))
    moto_state.adopt_distribution(created, layout.DISTRIBUTION_ID, oac_id)


def distribution_policy() -> CachePolicy:
    """The CDN's behaviour, read from the distribution as stored (so the CloudFront API changes it too)."""
    behaviour = moto_state.distribution_behaviour(layout.DISTRIBUTION_ID)
    if behaviour is None:
        return CachePolicy()
    # Origin: as the managed policies (and legacy ForwardedValues) treat it; a custom policy id is not modelled
    # (moto has no GetCachePolicy), so it counts as neither keying nor forwarding Origin
    origin = cloudfront_cors.origin_treatment(behaviour)
    return CachePolicy(
        min_ttl=behaviour["MinTTL"],
        default_ttl=behaviour["DefaultTTL"],
        max_ttl=behaviour["MaxTTL"],
        compress=behaviour["Compress"],
        allowed_methods=tuple(behaviour["AllowedMethods"]),
        viewer_cache_control=layout.SANDBOX_VIEWER_CACHE_CONTROL,
        origin_keyed=bool(origin.keyed),
        origin_forwarded=bool(origin.forwarded),
        edge_cors=origin.edge,
    )
