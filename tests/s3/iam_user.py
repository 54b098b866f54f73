"""Creates an IAM user allowed everything on a moto server that enforces authentication after its
first three requests (INITIAL_NO_AUTH_ACTION_COUNT=3), and prints its access key id and secret.

usage: iam_user.py    (endpoint from AWS_ENDPOINT_URL; these three requests need no credentials)
"""
import json
import os

import boto3


def main() -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName="lakegate")
    iam.put_user_policy(
        UserName="lakegate",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="lakegate")["AccessKey"]
    print(key["AccessKeyId"], key["SecretAccessKey"])


if __name__ == "__main__":
    main()
