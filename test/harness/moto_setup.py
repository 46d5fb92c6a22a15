#!/usr/bin/env python3
"""test/harness/moto_setup.py ENDPOINT — create the IAM users and the bucket
the object-store tests use on a fresh moto_server (and the secrets the AWS
Secrets Manager secret store reads), and print `export` lines
for their keys.

moto serves the first INITIAL_NO_AUTH_ACTION_COUNT requests without
authentication (moto.sh sets it to the 8 IAM calls below); everything after
is signature-checked and policy-checked, as S3 does.  Run with the pyenv's
python3 (boto3).
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
anon = dict(endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **anon)

def user(name, actions):
    iam.create_user(UserName=name)                                    # 1 request
    key = iam.create_access_key(UserName=name)["AccessKey"]           # 1 request
    if actions:
        iam.put_user_policy(UserName=name, PolicyName="objects",      # 1 request
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return key["AccessKeyId"], key["SecretAccessKey"]

admin = user("metaetl", ["s3:*", "secretsmanager:*"])
reader = user("reader", ["s3:GetObject", "s3:ListBucket", "s3:HeadObject"])
nobody = user("nobody", None)

s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=admin[0], aws_secret_access_key=admin[1])
s3.create_bucket(Bucket="metaetl-test")

# the AWS Secrets Manager secret store's test secrets (92_secret_stores):
# a key/value secret and a plain string one
sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=admin[0], aws_secret_access_key=admin[1])
sm.create_secret(Name="team-a/warehouse",
                 SecretString=json.dumps({"password": "aws-sm-pw-8Kd2", "user": "wh_loader"}))
sm.create_secret(Name="plain-token", SecretString="aws-sm-token-3Vn7")

for var, (kid, secret) in (("", admin), ("_READER", reader), ("_NOBODY", nobody)):
    print(f"export METAETL_MOTO{var}_KEY_ID={kid}")
    print(f"export METAETL_MOTO{var}_SECRET='{secret}'")
