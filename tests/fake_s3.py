"""A real S3 API server for the tests: moto's server mode, on a free port of 127.0.0.1, with one
bucket made; the bot reaches it through obstore over HTTP as it would reach MinIO or AWS."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

import boto3
from moto.server import ThreadedMotoServer

BUCKET = "sangkien-files"


@dataclass(frozen=True, slots=True)
class S3Server:
    endpoint: str
    bucket: str

    @property
    def environment(self) -> dict[str, str]:
        """What an operator sets for the bot (docs/operations.md, "Several machines")."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test-key",
            "AWS_SECRET_ACCESS_KEY": "test-secret",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }

    def url(self, prefix: str = "sangkien") -> str:
        return f"s3://{self.bucket}/{prefix}"

    def read(self, key: str) -> bytes | None:
        """An object's bytes as stored, read past the bot with another client (boto3)."""
        env = self.environment
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        try:
            return bytes(client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except client.exceptions.NoSuchKey:
            return None


def start_s3() -> tuple[ThreadedMotoServer, S3Server]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    request = urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT")
    with urllib.request.urlopen(request):
        pass
    return server, S3Server(endpoint, BUCKET)
