"""Password hashing and where the signing secret comes from."""

from __future__ import annotations

from botocore.session import Session
from botocore.stub import Stubber

from chalicelib import secrets
from chalicelib.domain import passwords


def test_passwords_are_stored_hashed_with_a_salt():
    first, second = passwords.hash_password("correct horse"), passwords.hash_password("correct horse")
    assert "correct horse" not in first
    assert first != second  # salted
    assert first.startswith("scrypt$16384$8$1$")
    assert passwords.verify_password("correct horse", first)
    assert not passwords.verify_password("correct horsE", first)
    assert not passwords.verify_password("correct horse", "garbage")


def test_non_ascii_passwords_work():
    stored = passwords.hash_password("密码是春天的花🌸")
    assert passwords.verify_password("密码是春天的花🌸", stored)
    assert not passwords.verify_password("密码是春天的花", stored)


def test_the_cloud_secret_is_read_from_ssm_with_decryption():
    # GIVEN an SSM client whose GetParameter call is checked against the AWS API model
    client = Session().create_client("ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response(
        "get_parameter",
        {"Parameter": {"Name": "/campus-crm/jwt-secret", "Type": "SecureString", "Value": "s3cr3t"}},
        {"Name": "/campus-crm/jwt-secret", "WithDecryption": True},
    )
    # WHEN the secret is read THEN the decrypted value comes back
    with stubber:
        assert secrets._read_parameter("/campus-crm/jwt-secret", "eu-west-1", client=client) == "s3cr3t"
    stubber.assert_no_pending_responses()
