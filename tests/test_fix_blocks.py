"""Fix boxes: prose is shown as prose, and only the JSON documents and the commands as code (services/views/fixes.py).
Table-driven over fix texts the checks really write."""

from __future__ import annotations

import json

import pytest

from services.views.fixes import fix_blocks

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}, indent=2)
GRANT = '{"Sid": "AllowCloudFrontServicePrincipalReadOnly", "Effect": "Allow", "Action": "s3:GetObject"}'
CASES = {
    "a document, then the commands that apply it": (
        f"{POLICY}\n\n# save the JSON above as policy.json, then:\n"
        "aws s3api put-bucket-policy --bucket b --policy file://policy.json",
        [
            ("json", POLICY),
            (
                "bash",
                "# save the JSON above as policy.json, then:\naws s3api put-bucket-policy --bucket b --policy "
                "file://policy.json",
            ),
        ],
    ),
    "prose around a one-line JSON statement and a command": (
        "Grant the distribution read access (aws s3api put-bucket-policy), with its OAC attached:\n"
        f"{GRANT}\nThen clear the cached error:\naws cloudfront create-invalidation --distribution-id E1 --paths '/k.png'",
        [
            ("prose", "Grant the distribution read access (aws s3api put-bucket-policy), with its OAC attached:"),
            ("json", GRANT),
            ("prose", "Then clear the cached error:"),
            ("bash", "aws cloudfront create-invalidation --distribution-id E1 --paths '/k.png'"),
        ],
    ),
    "a sentence ending in a command, and the remark after it": (
        "Make the web app PUT with the endpoint's contentType, not a type of its own.\n"
        "Or have the function sign image/*: aws lambda update-function-configuration --function-name f "
        "--environment 'Variables={CONTENT_TYPE_STYLE=image}' (this replaces all variables: include the function's "
        "other ones).",
        [
            (
                "prose",
                "Make the web app PUT with the endpoint's contentType, not a type of its own.\n"
                "Or have the function sign image/*:",
            ),
            (
                "bash",
                "aws lambda update-function-configuration --function-name f --environment "
                "'Variables={CONTENT_TYPE_STYLE=image}'",
            ),
            ("prose", "(this replaces all variables: include the function's other ones)."),
        ],
    ),
    "prose only": (
        'Return "contentType" with the signed type, or set PIPELINE_CLIENT_CONTENT_TYPE, e.g. application/{ext}.',
        [
            (
                "prose",
                'Return "contentType" with the signed type, or set PIPELINE_CLIENT_CONTENT_TYPE, e.g. application/{ext}.',
            )
        ],
    ),
    "a command with a parenthesis inside a quoted argument stays whole": (
        "aws s3 cp s3://b/ s3://b/ --cache-control 'public (really)'",
        [("bash", "aws s3 cp s3://b/ s3://b/ --cache-control 'public (really)'")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fix_text_splits_into_prose_json_and_commands(case):
    text, expected = CASES[case]
    assert [(block.kind, block.text) for block in fix_blocks(text)] == expected


def test_no_prose_word_is_ever_code_and_nothing_is_lost():
    text = "\n".join(CASES["prose around a one-line JSON statement and a command"][0].splitlines())
    blocks = fix_blocks(text)
    assert "".join(b.text for b in blocks).replace("\n", "") == text.replace("\n", "")
    assert all(not b.is_code for b in blocks if b.text.startswith(("Grant", "Then")))


def test_a_brace_that_opens_no_json_is_prose():
    assert [b.kind for b in fix_blocks("{ext} is the extension\naws s3 ls")] == ["prose", "bash"]
