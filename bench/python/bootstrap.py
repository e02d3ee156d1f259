"""The Python baseline's Lambda runtime loop: what a `provided` runtime's bootstrap does, as
small as it can be. Importing `handler` is the function's initialisation (boto3, the
kubernetes client, clients built, the cluster described); then GET next, run, POST response."""
import json
import os
import urllib.request

import handler

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"

while True:
    with urllib.request.urlopen(API + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    try:
        body, path = json.dumps(handler.handle(event, None)), "response"
    except Exception as e:  # the runtime reports any failure as the invocation's error
        body, path = json.dumps({"errorMessage": str(e), "errorType": type(e).__name__}), "error"
    post = urllib.request.Request(API + request_id + "/" + path, data=body.encode(), method="POST")
    urllib.request.urlopen(post).read()
