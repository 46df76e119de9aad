"""Provenance end to end: a live recording carries the invisible mark naming its model and, with a
certificate, a signed C2PA manifest; ``swapcam verify`` reports both, and says so when they are not
there or no longer hold."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import cv2
import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.provenance.label import ProvenanceSettings
from swapcam.realtime.provenance.watermark import Payload, Watermarker, model_fingerprint
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.run.loop import PipelineSettings
from swapcam.realtime.sources.base import CaptureSettings

pytest.importorskip("c2pa", reason="the provenance extra (c2pa-python) is not installed")

from cryptography import x509  # noqa: E402  (after the skip: cryptography comes with c2pa-python)
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

INPUT = "synthetic:identity=ada,size=1280x720"


def _name(common: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "swapcam test")]
    )


def _usage(signer: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        ["content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "encipher_only"], False
    )
    return x509.KeyUsage(
        digital_signature=signer, key_cert_sign=not signer, crl_sign=not signer, decipher_only=False, **flags
    )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    """A throwaway chain made now: a root CA and a signer it issued (C2PA refuses self-signed signers)."""
    folder = tmp_path_factory.mktemp("certs")
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def issue(subject: str, public, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(_name("swapcam test root"))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(_usage(signer=not ca), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        return builder.sign(root_key, hashes.SHA256())

    root = issue("swapcam test root", root_key.public_key(), ca=True)
    signer = issue("swapcam test signer", key.public_key(), ca=False)
    pem = serialization.Encoding.PEM
    paths = {"chain": folder / "chain.pem", "key": folder / "key.pem", "root": folder / "root.pem"}
    paths["chain"].write_bytes(signer.public_bytes(pem) + root.public_bytes(pem))
    paths["root"].write_bytes(root.public_bytes(pem))
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def record(path: Path, model: Path, provenance: ProvenanceSettings, frames: int = 30) -> dict:
    config = LiveConfig(
        capture=CaptureSettings(pace="every"), provenance=provenance, pipeline=PipelineSettings(max_frames=frames)
    )
    return run_live(LiveRun(INPUT, model, f"file:{path}", config), log=lambda line: None)


@pytest.fixture(scope="module")
def signed(tmp_path_factory, certificates, inverting_model_path) -> Path:
    path = tmp_path_factory.mktemp("signed") / "call.mp4"
    settings = ProvenanceSettings(sign_cert=str(certificates["chain"]), sign_key=str(certificates["key"]))
    report = record(path, inverting_model_path, settings)
    assert report["model_fingerprint"] == f"{model_fingerprint(inverting_model_path):06x}"
    return path


def test_signed_recording_is_found_named_and_verified(signed, inverting_model_path, swapcam_cli):
    result = swapcam_cli("verify", str(signed), "--model", str(inverting_model_path.parent))
    assert result.returncode == 0, result.stderr
    fingerprint = f"{model_fingerprint(inverting_model_path):06x}"
    lines = result.stdout.splitlines()
    assert "swapcam mark found" in lines[0] and "in 1 of 1 windows of 1 s" in lines[0]
    assert f"fingerprint {fingerprint} = {inverting_model_path}" in lines[1]
    assert "signed by 'swapcam test signer'" in lines[2] and "says AI-altered" in lines[2]
    assert "signature and content hashes valid" in lines[2] and "not in a trust list" in lines[2]


def test_verify_json_reports_manifest_and_trust(signed, certificates, swapcam_cli):
    result = swapcam_cli("verify", str(signed), "--json", "--trust", str(certificates["root"]))
    report = json.loads(result.stdout)
    assert report["found"] and report["z"] >= report["z_needed"] and report["false_alarm"] < 1e-6
    assert report["windows"][0]["found"] and report["frames"] == 30
    manifest = report["c2pa"]
    assert manifest["valid"] and manifest["trusted"] and manifest["ai_altered"]
    assert [a["action"] for a in manifest["actions"]] == ["c2pa.created", "c2pa.edited"]
    assert manifest["actions"][1]["digitalSourceType"] == "trainedAlgorithmicMedia"


def test_tampered_recording_fails_its_signature(signed, tmp_path, swapcam_cli):
    data = bytearray(signed.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # inside the video data: the hash no longer matches
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    result = swapcam_cli("verify", str(tampered), "--json")
    assert result.returncode in (0, 1), result.stderr  # the mark may or may not survive the damage
    assert result.stdout, (result.returncode, result.stderr)
    assert json.loads(result.stdout)["c2pa"]["valid"] is False


def test_no_watermark_leaves_no_mark(tmp_path, inverting_model_path, swapcam_cli):
    path = tmp_path / "plain.mp4"
    record(path, inverting_model_path, ProvenanceSettings(watermark=False))
    result = swapcam_cli("verify", str(path), "--no-detect")  # the mark alone: the swap detector has its own tests
    assert result.returncode == 1
    assert "no swapcam mark" in result.stdout and "C2PA: no manifest" in result.stdout


def test_marked_photo_is_found(tmp_path, swapcam_cli):
    from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo

    image = SyntheticVideo(SyntheticSettings(identity="bo", size="1280x720", noise=2.0)).frame(3).image
    Watermarker(Payload(0x00ABCD))(image)
    cv2.imwrite(str(tmp_path / "still.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    result = swapcam_cli("verify", str(tmp_path / "still.jpg"), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["kind"] == "image" and report["payload"] == "00abcd"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["/no/such/clip.mp4"], "does not exist"),
        (["NOTES"], "is not a video FFmpeg can open"),
        (["--window", "0", "NOTES"], "must be positive"),
        (["NOTES.png"], "is not an image OpenCV can read"),
    ],
)
def test_verify_bad_input_is_one_line(arguments, message, tmp_path, swapcam_cli):
    for name in ("NOTES.mp4", "NOTES.png"):
        (tmp_path / name).write_bytes(b"\x00\x01 not a picture " * 10)
    arguments = [
        str(tmp_path / "NOTES.mp4") if a == "NOTES" else str(tmp_path / a) if a == "NOTES.png" else a for a in arguments
    ]
    result = swapcam_cli("verify", *arguments)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_signing_settings_are_checked_before_streaming(certificates, inverting_model_path, tmp_path):
    cert, key = str(certificates["chain"]), str(certificates["key"])
    cases = [
        (ProvenanceSettings(sign_cert=cert), "go together"),
        (ProvenanceSettings(sign_cert=str(certificates["key"]), sign_key=key), "holds no PEM certificate"),
        (ProvenanceSettings(sign_cert=cert, sign_key=cert), "not an unencrypted PEM private key"),
        (ProvenanceSettings(sign_cert=cert, sign_key=str(tmp_path / "missing.pem")), "cannot be read"),
    ]
    for settings, message in cases:
        with pytest.raises(UserError, match=message):
            record(tmp_path / "x.mp4", inverting_model_path, settings, frames=1)
    with pytest.raises(UserError, match="signs file recordings"):
        config = LiveConfig(provenance=ProvenanceSettings(sign_cert=cert, sign_key=key))
        run_live(LiveRun(INPUT, inverting_model_path, "null", config), log=lambda line: None)


def test_manifest_line_names_the_organisation_only_when_the_certificate_has_one():
    from swapcam.realtime.provenance.verify import _manifest_line

    manifest = {
        "valid": True,
        "trusted": False,
        "signed_by": "a signer",
        "issuer": None,
        "actions": [{"action": "c2pa.edited", "digitalSourceType": "trainedAlgorithmicMedia"}],
        "ai_altered": True,
        "problems": [],
    }
    assert _manifest_line(manifest).startswith("C2PA: signed by 'a signer'; says AI-altered")
    assert "signed by 'a signer' (Studio A);" in _manifest_line({**manifest, "issuer": "Studio A"})
