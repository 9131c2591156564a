"""The sandbox process: a local pipeline on loopback, started by ``Sandbox.start()``.

Runs moto's S3 (global CORS off) behind a port of its own, the shipped presign function behind an
emulated API Gateway, and an emulated CloudFront in front of the bucket. Prints one JSON line with the
endpoints when ready, then serves until its standard input closes (the console exited) or it is
signalled.
"""

from __future__ import annotations

import os

os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")  # before moto is imported: S3 CORS must be the bucket's own

import argparse
import json
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from presign_function.lambda_function import HandlerConfig, build_handler, make_s3_client
from services.aws import make_client
from services.sandbox import layout
from services.sandbox.cdn import CachePolicy, EdgeCache, OriginReply, make_cdn
from services.sandbox.gateway import ApiCors, make_gateway
from services.settings import AwsTarget

LOG = logging.getLogger("sandbox")


@dataclass
class Running:
    servers: list[Any]
    endpoints: dict[str, Any]

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _access_denied_xml(key: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message>'
        f"<Key>{key}</Key><RequestId>SANDBOX</RequestId></Error>"
    ).encode()


def make_origin_fetch(s3: Any, bucket: str):
    """Read an object as the distribution does (Origin Access Control, no s3:ListBucket)."""

    def fetch(key: str) -> OriginReply:
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as err:
            status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
            code = err.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404") or status == 404:
                status = 403  # without s3:ListBucket, S3 answers a missing key with 403 AccessDenied
            headers = {"Content-Type": "application/xml", "Server": "AmazonS3"}
            return OriginReply(status, headers, _access_denied_xml(key) if status == 403 else b"")
        body = obj["Body"].read()
        headers = {"Server": "AmazonS3", "Accept-Ranges": "bytes"}
        names = {
            "ContentType": "Content-Type",
            "ETag": "ETag",
            "CacheControl": "Cache-Control",
            "ContentEncoding": "Content-Encoding",
        }
        for field_name, header in names.items():
            if obj.get(field_name):
                headers[header] = str(obj[field_name])
        if obj.get("LastModified"):
            headers["Last-Modified"] = obj["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT")
        return OriginReply(200, headers, body)

    return fetch


def configure_bucket(s3: Any) -> None:
    """The seed's bucket, with the secure policy shape: CORS as written up, CloudFront-only reads, BPA on."""
    s3.create_bucket(Bucket=layout.BUCKET, CreateBucketConfiguration={"LocationConstraint": layout.REGION})
    s3.put_bucket_cors(Bucket=layout.BUCKET, CORSConfiguration={"CORSRules": layout.seed_cors_rules()})
    s3.put_bucket_policy(Bucket=layout.BUCKET, Policy=layout.secure_bucket_policy())
    s3.put_public_access_block(Bucket=layout.BUCKET, PublicAccessBlockConfiguration=layout.PUBLIC_ACCESS_BLOCK_ON)


def start(host: str = "127.0.0.1") -> Running:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("presign_function.lambda_function").setLevel(logging.WARNING)  # one line per upload is noise here
    s3_server = make_server(host, 0, DomainDispatcherApplication(create_backend_app), threaded=True)
    threading.Thread(target=s3_server.serve_forever, name="sandbox-s3", daemon=True).start()
    s3_url = f"http://{host}:{s3_server.server_port}"
    target = AwsTarget(
        region=layout.REGION,
        endpoint_url=s3_url,
        access_key_id=layout.ACCESS_KEY_ID,
        secret_access_key=layout.SECRET_ACCESS_KEY,
    )
    admin_s3 = make_client("s3", target)
    configure_bucket(admin_s3)

    fn_config = HandlerConfig(bucket=layout.BUCKET, region=layout.REGION, expires_in=300, addressing_style="path")
    fn_client = make_s3_client(
        fn_config,
        endpoint_url=s3_url,
        aws_access_key_id=layout.ACCESS_KEY_ID,
        aws_secret_access_key=layout.SECRET_ACCESS_KEY,
    )
    gateway = make_gateway(
        host, 0, build_handler(fn_config, fn_client), ApiCors(layout.APP_ORIGINS), layout.PRESIGN_ROUTE
    )
    gateway.start("sandbox-gateway")

    cdn = make_cdn(host, 0, make_origin_fetch(make_client("s3", target), layout.BUCKET), CachePolicy(), EdgeCache())
    cdn.start("sandbox-cdn")
    endpoints = {
        "s3": s3_url,
        "presign": f"http://{host}:{gateway.port}{layout.PRESIGN_ROUTE}",
        "cdn": f"http://{host}:{cdn.port}",
        "bucket": layout.BUCKET,
        "region": layout.REGION,
        "distribution_id": layout.DISTRIBUTION_ID,
        "app_origins": list(layout.APP_ORIGINS),
        "pid": os.getpid(),
    }
    return Running(servers=[s3_server, gateway, cdn], endpoints=endpoints)


def _wait_for_parent(done: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="sandbox: %(message)s")
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    try:
        running = start(args.host)
    except Exception as err:  # noqa: BLE001 - reported to the parent as one line, then exit non-zero
        print(json.dumps({"ready": False, "error": f"{type(err).__name__}: {err}"}), flush=True)
        return 1
    print(json.dumps({"ready": True, **running.endpoints}), flush=True)
    sys.stdout = sys.stderr  # nothing else may fill the pipe the parent stopped reading
    threading.Thread(target=_wait_for_parent, args=(done,), daemon=True).start()
    done.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
