"""The k8s-read function as a Python build of this design would write it: the same work at
initialisation as functions/k8s-read/src/main.rs (configuration from the environment, a
DynamoDB client, eks:DescribeCluster for the endpoint and CA, a signed EKS token, a kubernetes
API client), and get_pods per event."""
import base64
import os
import tempfile

import boto3
from botocore.signers import RequestSigner
from kubernetes import client as k8s

STATE_TABLE = os.environ["AIOPS_STATE_TABLE"]
AUDIT_TABLE = os.environ["AIOPS_AUDIT_TABLE"]
CLUSTER = os.environ["AIOPS_CLUSTER_NAME"]
REGION = os.environ["AWS_REGION"]

session = boto3.session.Session()
dynamodb = session.client("dynamodb")
cluster = session.client("eks").describe_cluster(name=CLUSTER)["cluster"]


def eks_token():
    sts = session.client("sts")
    signer = RequestSigner(sts.meta.service_model.service_id, REGION, "sts", "v4", session.get_credentials(), session.events)
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"https://sts.{REGION}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {"x-k8s-aws-id": CLUSTER},
            "context": {},
        },
        region_name=REGION,
        expires_in=60,
        operation_name="",
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


ca = tempfile.NamedTemporaryFile(delete=False, suffix=".pem")
ca.write(base64.b64decode(cluster["certificateAuthority"]["data"]))
ca.close()
config = k8s.Configuration()
config.host = cluster["endpoint"]
config.ssl_ca_cert = ca.name
config.api_key = {"authorization": "Bearer " + eks_token()}
core = k8s.CoreV1Api(k8s.ApiClient(config))


def handle(event, context):
    call = event["call"]
    pods = core.list_namespaced_pod(call["args"].get("namespace", "default"))
    return {"call_id": call["id"], "ok": True, "pods": len(pods.items)}
