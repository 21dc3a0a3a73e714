"""The cold-import baseline: the smallest Chalice app that talks to DynamoDB.

It imports only chalice and boto3 and creates one DynamoDB client, which is the floor
any Chalice + DynamoDB function pays on a cold start. `app.py` is measured against it.
"""

import boto3
from chalice import Chalice

app = Chalice(app_name="bench-baseline")
dynamodb = boto3.client("dynamodb", region_name="us-east-1")


@app.route("/")
def index():
    return {"ok": True}
