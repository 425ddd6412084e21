"""Prints infra/template.yaml as SAM's own transform turns it into plain
CloudFormation (JSON), the form CloudFormation deploys: the functions'
roles with SAM's policy templates expanded. Offline: the template names
no managed policy that would need IAM to look it up. The permission tests
(`tests/end_to_end/permissions`) evaluate recorded AWS calls against it.
Usage: python scripts/sam_transform.py [TEMPLATE]"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """SAM asks for the managed policy map only to resolve policies named
    by name; the template names none."""

    def load(self):
        return {}


def main():
    # SAM names pseudo-parameter values by a region; any will do, since the
    # roles keep ${AWS::Region} for the evaluator to resolve.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    path = sys.argv[1] if len(sys.argv) > 1 else "infra/template.yaml"
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # `sam build` uploads each function's code and names it by S3 URI; the
    # code plays no part in the roles.
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://code/{name}.zip"
    transformed = transform(template, {}, NoManagedPolicies())
    json.dump(transformed, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
