#!/usr/bin/env python3
"""Generates the fixed EKS bearer-token vectors of the `eks_token_matches_botocore*` tests.

This is an independent implementation of the token: it is exactly what `aws eks get-token`
(awscli/customizations/eks/get_token.py) and aws-iam-authenticator do, run through botocore:

  * create an STS client for the region (regional endpoint https://sts.{region}.amazonaws.com),
  * take the cluster name as a fake `x-k8s-aws-id` parameter of GetCallerIdentity
    (provide-client-params event) and inject it as a request header just before signing
    (before-sign event), so it ends up in X-Amz-SignedHeaders (`host;x-k8s-aws-id`),
  * presign GetCallerIdentity for GET with ExpiresIn=60 (SigV4 query-string auth),
  * token = "k8s-aws-v1." + base64url(presigned URL) with the `=` padding stripped.

The only change from awscli is the clock: botocore's signer reads the time through
`botocore.auth.get_current_datetime`, which is replaced by a function returning a fixed instant,
and the credentials are fixed example values (not real keys).

Run:
    python3 -m venv /tmp/botovenv && /tmp/botovenv/bin/pip install botocore
    /tmp/botovenv/bin/python shared/kube/tests/vectors/eks_token.py
It prints two vectors (presigned URL, then token), pasted into shared/kube/src/eks_auth.rs
(tests `eks_token_matches_botocore*`).
"""

import base64
import datetime

import botocore.auth
import botocore.session
from botocore.config import Config

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# A session token with characters that must be percent-encoded (+ / =).
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE+token/with=special//chars=="
REGION = "eu-west-1"
CLUSTER = "prod-cluster"
# 2024-05-01T12:34:56Z, i.e. 1714566896 seconds after the Unix epoch.
FIXED_NOW = datetime.datetime(2024, 5, 1, 12, 34, 56)

K8S_AWS_ID_HEADER = "x-k8s-aws-id"  # as in awscli get_token.py
URL_TIMEOUT = 60  # seconds, as in awscli get_token.py
TOKEN_PREFIX = "k8s-aws-v1."


def fixed_now():
    return FIXED_NOW


# botocore.auth does `from botocore.compat import get_current_datetime`; patch the name it uses.
botocore.auth.get_current_datetime = fixed_now


def retrieve_k8s_aws_id(params, context, **kwargs):
    if K8S_AWS_ID_HEADER in params:
        context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)


def inject_k8s_aws_id_header(request, **kwargs):
    if K8S_AWS_ID_HEADER in request.context:
        request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]


def presign(session_token, region, cluster):
    session = botocore.session.get_session()
    session.set_credentials(ACCESS_KEY, SECRET_KEY, session_token)
    sts = session.create_client(
        "sts",
        region_name=region,
        config=Config(signature_version="v4"),
        # Regional endpoint, as current awscli uses; stated explicitly so the script does not
        # depend on botocore's sts_regional_endpoints default.
        endpoint_url=f"https://sts.{region}.amazonaws.com",
    )
    sts.meta.events.register(
        "provide-client-params.sts.GetCallerIdentity", retrieve_k8s_aws_id
    )
    sts.meta.events.register(
        "before-sign.sts.GetCallerIdentity", inject_k8s_aws_id_header
    )
    return sts.generate_presigned_url(
        "get_caller_identity",
        Params={K8S_AWS_ID_HEADER: cluster},
        ExpiresIn=URL_TIMEOUT,
        HttpMethod="GET",
    )


def token_of(url):
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode(
        "utf-8"
    ).rstrip("=")


def main():
    # Vector 1: temporary credentials (session token), eu-west-1, cluster "prod-cluster".
    url = presign(SESSION_TOKEN, REGION, CLUSTER)
    print("# with session token")
    print(url)
    print(token_of(url))
    # Vector 2: long-term keys (no session token), us-east-1, cluster "Team_A-dev".
    url = presign(None, "us-east-1", "Team_A-dev")
    print("# without session token")
    print(url)
    print(token_of(url))


if __name__ == "__main__":
    main()
