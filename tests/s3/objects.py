"""Lists the objects below a prefix of an S3-compatible server (moto on 127.0.0.1 in the tests).

usage: objects.py BUCKET PREFIX   (endpoint and credentials from the AWS_* environment)
Prints a JSON object: each key relative to PREFIX -> its size in bytes.
"""
import json
import os
import sys

import boto3


def main() -> None:
    bucket, prefix = sys.argv[1], sys.argv[2].strip("/") + "/"
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix):]] = o["Size"]
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
