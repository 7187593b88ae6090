#!/usr/bin/env python3
"""Creates a bucket on an S3-compatible server (moto, MinIO) and uploads files, for coh5's tests.

Reads `key<TAB>local path` lines from stdin. Uses dummy credentials unless AWS_ACCESS_KEY_ID is
set. Needs boto3 (pip install -r scripts/requirements-test.txt).
"""

import argparse
import os
import sys

import boto3
from botocore.config import Config


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:5000")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--public", action="store_true", help="make the uploaded objects readable anonymously")
    args = ap.parse_args()

    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        config=Config(
            s3={"addressing_style": "path"},
            connect_timeout=10,
            read_timeout=60,
            retries={"max_attempts": 2},
        ),
    )
    if args.region == "us-east-1":
        s3.create_bucket(Bucket=args.bucket)
    else:
        s3.create_bucket(
            Bucket=args.bucket,
            CreateBucketConfiguration={"LocationConstraint": args.region},
        )
    count = 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        key, path = line.split("\t", 1)
        # Object ACLs rather than a bucket policy: moto applies policies to GET but not HEAD.
        extra = {"ACL": "public-read"} if args.public else None
        s3.upload_file(path, args.bucket, key, ExtraArgs=extra)
        count += 1
    print("uploaded %d objects to s3://%s" % (count, args.bucket))


if __name__ == "__main__":
    main()
