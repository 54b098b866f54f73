"""Lists the objects below a prefix of an S3-compatible server (moto on 127.0.0.1 in the tests).

usage: objects.py BUCKET PREFIX [size|etag|sha256]   (endpoint and credentials from the AWS_* environment)
Prints a JSON object: each key relative to PREFIX -> its size in bytes (the default), its ETag, or
the SHA-256 of its bytes.
"""
import hashlib
import json
import os
import sys

import boto3


def main() -> None:
    bucket, prefix = sys.argv[1], sys.argv[2].strip("/") + "/"
    what = sys.argv[3] if len(sys.argv) > 3 else "size"
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            key = o["Key"][len(prefix):]
            if what == "size":
                out[key] = o["Size"]
            elif what == "etag":
                out[key] = o["ETag"]
            else:
                body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                out[key] = hashlib.sha256(body).hexdigest()
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
