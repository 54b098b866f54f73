"""Uploads a local directory to an S3-compatible server (moto on 127.0.0.1 in the tests).

usage: upload.py BUCKET LOCAL_DIR PREFIX   (endpoint and credentials from the AWS_* environment)
The bucket is created if it does not exist; every file below LOCAL_DIR becomes PREFIX/<relative path>.
"""
import os
import sys

import boto3


def main() -> None:
    bucket, local, prefix = sys.argv[1], sys.argv[2], sys.argv[3].strip("/")
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    for root, _dirs, files in os.walk(local):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, local).replace(os.sep, "/")
            key = f"{prefix}/{rel}" if prefix else rel
            with open(path, "rb") as f:
                s3.put_object(Bucket=bucket, Key=key, Body=f.read())


if __name__ == "__main__":
    main()
